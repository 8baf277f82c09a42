/**
 * The client side of the tracker protocol, over socket.io-client. The only client module
 * that imports socket.io (and only for the default socket factory: tests may pass their
 * own). Inbound events are validated like the server validates its own. Given several
 * tracker URLs (instances of one cluster), it moves on to the next one when its connection
 * drops or is refused, after a capped, jittered exponential backoff on the given clock.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { PeerIdentity } from '../identity/identity.js';
import { signTrackerAuth } from '../identity/tracker-auth.js';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { type IceAnswer, iceAnswerOf } from '../protocol/ice.js';
import {
  type Ack,
  type AnnounceRequest,
  type AnnounceResult,
  type ClientToServerEvents,
  type RelayedSignal,
  RelayedSignalSchema,
  type ServerToClientEvents,
  SignalRefusalSchema,
  TrackerFeature,
  TrackerHelloSchema,
} from '../protocol/tracker.js';
import { backoffDelayMs } from '../util/backoff.js';
import { type Clock, systemClock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';

/** How long to wait for the tracker to acknowledge an event. */
export const ACK_TIMEOUT_MS = 10_000;
/** First reconnect delay after a lost or refused connection. */
export const RECONNECT_BASE_MS = 250;
/** Longest reconnect delay. */
export const RECONNECT_MAX_MS = 10_000;
/** How long one connection attempt may take before the next URL is tried. */
export const TRACKER_CONNECT_TIMEOUT_MS = 5_000;

export type TrackerSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
/** Opens one socket.io connection to a tracker; the default is socket.io-client's `io`. */
export type CreateTrackerSocket = (url: string, options: Partial<ManagerOptions & SocketOptions>) => TrackerSocket;

export interface TrackerClientOptions {
  /** Default {@link ACK_TIMEOUT_MS}. */
  ackTimeoutMs?: number;
  /** First reconnect delay; default {@link RECONNECT_BASE_MS}. */
  reconnectBaseMs?: number;
  /** Reconnect delay cap; default {@link RECONNECT_MAX_MS}. */
  reconnectMaxMs?: number;
  /** Randomness for the backoff jitter; default Math.random. */
  random?: () => number;
  /** Time for the reconnect backoff; default the system clock. */
  clock?: Clock;
  /** Opens the socket to a tracker; default socket.io-client's `io`. */
  createSocket?: CreateTrackerSocket;
  /** Wall-clock time (ms since the epoch) stamped into each handshake proof; default Date.now. */
  now?: () => number;
}

/**
 * Targets of signals sent without an ack whose refusal is still listened for, at most; past
 * it the oldest is forgotten (a refusal comes back within a round trip, or not at all).
 */
export const MAX_AWAITED_REFUSALS = 256;

/** Refusals after which trying again (here or on another instance) cannot help. */
const FINAL_REFUSALS: ReadonlySet<string> = new Set([ErrorCode.INVALID_HANDSHAKE, ErrorCode.VERSION_MISMATCH]);

export type TrackerClientEvents = {
  signal: [msg: RelayedSignal];
  connect: [];
  disconnect: [reason: string];
  /** The tracker refused the connection (e.g. `ERR_DUPLICATE_PEER_ID`). */
  error: [error: RingswarmError];
  /** Destroyed; the last event. */
  close: [];
};

export class TrackerClient extends Emitter<TrackerClientEvents> {
  /** Every tracker URL, tried in turn. */
  readonly urls: readonly string[];
  readonly peerId: string;
  readonly #identity: PeerIdentity;
  readonly #now: () => number;
  #socket!: TrackerSocket;
  #index = 0;
  #attempt = 0;
  /** The timer of a reconnect that is waiting out its backoff. */
  #retry: unknown = null;
  #ackTimeoutMs: number;
  #baseMs: number;
  #maxMs: number;
  #random: () => number;
  #clock: Clock;
  #createSocket: CreateTrackerSocket;
  #destroyed = false;
  /** The current socket's tracker named {@link TrackerFeature.SIGNAL_WITHOUT_ACK} in its hello. */
  #signalWithoutAck = false;
  /** Per target, who hears of a refusal of the last signal sent to it without an ack. */
  #awaitedRefusals = new Map<string, (error: RingswarmError) => void>();

  /** @param url one tracker URL, or several instances of one cluster (the first is tried first) */
  /** @param identity the key the handshake proves; the connection is bound to its peer ID */
  constructor(url: string | readonly string[], identity: PeerIdentity, options: TrackerClientOptions = {}) {
    super();
    this.urls = typeof url === 'string' ? [url] : [...url];
    if (this.urls.length === 0) throw new RangeError('at least one tracker URL is needed');
    this.peerId = identity.peerId;
    this.#identity = identity;
    this.#now = options.now ?? Date.now;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? ACK_TIMEOUT_MS;
    this.#baseMs = options.reconnectBaseMs ?? RECONNECT_BASE_MS;
    this.#maxMs = options.reconnectMaxMs ?? RECONNECT_MAX_MS;
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? systemClock;
    this.#createSocket = options.createSocket ?? io;
    this.#open();
  }

  /** The URL of the tracker in use (or being tried). */
  get url(): string {
    return this.urls[this.#index]!;
  }

  /**
   * One socket per attempt, socket.io's own reconnection off: this class decides when and
   * where to reconnect, so a dead instance is left for the next URL.
   */
  #open(): void {
    // WebSocket only: no long-polling, so no sticky sessions are needed behind a load balancer.
    const socket: TrackerSocket = this.#createSocket(this.url, {
      // A function, so every (re)connect of this socket signs a fresh ts and nonce. A signer
      // that fails sends an empty auth: the tracker refuses it (ERR_INVALID_HANDSHAKE).
      auth: (send: (auth: object) => void) => {
        signTrackerAuth(this.#identity, this.#now()).then(send, () => send({}));
      },
      transports: ['websocket'],
      reconnection: false,
      timeout: TRACKER_CONNECT_TIMEOUT_MS,
      forceNew: true,
    });
    this.#socket = socket;
    // What the last socket's tracker spoke, and refusals it was to send, do not carry over.
    this.#signalWithoutAck = false;
    this.#awaitedRefusals.clear();
    socket.on('hello', (raw: unknown) => {
      if (this.#destroyed || socket !== this.#socket) return;
      const parsed = TrackerHelloSchema.safeParse(raw);
      this.#signalWithoutAck = parsed.success && parsed.data.features.includes(TrackerFeature.SIGNAL_WITHOUT_ACK);
    });
    socket.on('signal:refused', (raw: unknown) => {
      if (this.#destroyed || socket !== this.#socket) return;
      const parsed = SignalRefusalSchema.safeParse(raw);
      // A refusal naming no target (or one not signaled) has nobody to tell.
      if (!parsed.success || parsed.data.to === undefined) return;
      const { to, code, message } = parsed.data;
      const onRefused = this.#awaitedRefusals.get(to);
      if (!onRefused) return;
      this.#awaitedRefusals.delete(to);
      onRefused(new RingswarmError(code as ErrorCode, message));
    });
    socket.on('signal', (raw: unknown) => {
      if (this.#destroyed || socket !== this.#socket) return;
      const parsed = RelayedSignalSchema.safeParse(raw);
      if (parsed.success) this.emit('signal', parsed.data);
    });
    socket.on('connect', () => {
      if (this.#destroyed || socket !== this.#socket) return;
      this.#attempt = 0;
      this.emit('connect');
    });
    socket.on('disconnect', (reason) => {
      if (this.#destroyed || socket !== this.#socket) return;
      this.emit('disconnect', reason);
      if (reason !== 'io client disconnect') this.#failover();
    });
    socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (this.#destroyed || socket !== this.#socket) return;
      const code = err.data?.code;
      if (code) this.emit('error', new RingswarmError(code as ErrorCode, err.message));
      if (code && FINAL_REFUSALS.has(code)) return;
      this.#failover();
    });
  }

  /** Drops the current socket and, after the backoff, tries the next URL. */
  #failover(): void {
    if (this.#destroyed || this.#retry !== null) return;
    const old = this.#socket;
    old.removeAllListeners();
    old.disconnect();
    const delay = backoffDelayMs(this.#attempt++, this.#random, this.#baseMs, this.#maxMs);
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = null;
      if (this.#destroyed) return;
      this.#index = (this.#index + 1) % this.urls.length;
      this.#open();
    }, delay);
  }

  get connected(): boolean {
    return !this.#destroyed && this.#socket.connected;
  }

  announce(req: AnnounceRequest): Promise<AnnounceResult> {
    return this.#call('announce', req);
  }

  /**
   * Relays signaling data to a peer. `onRefused` hears, once, why the tracker would not (or
   * that it did not answer in time). Once the tracker's hello names
   * {@link TrackerFeature.SIGNAL_WITHOUT_ACK}, the signal goes without an ack and only a
   * refusal comes back; `onRefused` then stands for the last signal to `to` only.
   */
  signal(to: string, data: Record<string, unknown>, onRefused: (error: RingswarmError) => void): void {
    if (!this.#signalWithoutAck || this.#destroyed || this.#retry !== null) {
      this.#call('signal', { to, data }).catch(onRefused);
      return;
    }
    this.#awaitedRefusals.delete(to);
    this.#awaitedRefusals.set(to, onRefused);
    if (this.#awaitedRefusals.size > MAX_AWAITED_REFUSALS) {
      this.#awaitedRefusals.delete(this.#awaitedRefusals.keys().next().value!);
    }
    this.#socket.emit('signal', { to, data });
  }

  /**
   * Up to `k` live ring members to join through; also registers this peer as one, unless
   * `member` is false (a peer that attaches as a leaf).
   */
  async ringBootstrap(k: number, member = true): Promise<string[]> {
    return (await this.#call('ring:bootstrap', member ? { k } : { k, member: false })).peers;
  }

  /**
   * STUN and TURN servers from the tracker, over this authenticated socket: the only way to
   * TURN credentials (labelled with this peer's ID, valid `ttl` seconds). The answer is checked
   * like any inbound data; an unusable one is refused with ERR_INVALID_PAYLOAD.
   */
  async ice(): Promise<IceAnswer> {
    const answer = iceAnswerOf(await this.#call('ice', {}));
    if (answer === null) throw new RingswarmError(ErrorCode.INVALID_PAYLOAD, 'the tracker sent no usable ICE servers');
    return answer;
  }

  async #call<K extends keyof ClientToServerEvents>(
    event: K,
    payload: Parameters<ClientToServerEvents[K]>[0],
  ): Promise<Omit<Extract<Parameters<NonNullable<Parameters<ClientToServerEvents[K]>[1]>>[0], { ok: true }>, 'ok'>> {
    if (this.#destroyed) throw new RingswarmError(ErrorCode.TIMEOUT, 'tracker client destroyed');
    if (this.#retry !== null) throw new RingswarmError(ErrorCode.TIMEOUT, 'tracker connection lost, reconnecting');
    let res: Ack<object>;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: socket.io's overloads cannot be narrowed by a generic key
      res = await (this.#socket.timeout(this.#ackTimeoutMs) as any).emitWithAck(event, payload);
    } catch {
      throw new RingswarmError(ErrorCode.TIMEOUT, `tracker did not answer ${event} within ${this.#ackTimeoutMs} ms`);
    }
    if (!res.ok) throw new RingswarmError(res.code, res.message);
    const { ok: _ok, ...rest } = res;
    return rest as never;
  }

  /** Closes the connection and stops reconnecting, then emits `close`. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#clock.clearTimeout(this.#retry);
    this.#retry = null;
    this.#awaitedRefusals.clear();
    this.#socket.removeAllListeners();
    this.#socket.disconnect();
    this.emit('close');
    this.removeAllListeners();
  }
}
