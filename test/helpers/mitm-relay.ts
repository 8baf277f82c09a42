/**
 * A lying signaling server, for tests only: it is the tracker of the clients that connect to
 * it (handshake auth, `announce`, `signal`, `ring:bootstrap`, just enough of the protocol in
 * shared/src/protocol/tracker.ts), and it can splice itself into their transfers.
 *
 * - `honest`: signals are relayed unchanged, `from` stamped with the sender's bound peer ID;
 *   the peers then connect to each other directly.
 * - `splice`: the relay terminates both WebRTC connections itself. It reads the initiator's
 *   signed offer and answers it with a PeerLink of its own (posing as the responder), opens
 *   its own offer to the responder (posing as the initiator, under the same `sid`), and
 *   pipes every data-channel frame from one leg to the other; it sees every frame in
 *   plaintext, and counts them by type byte. It cannot sign as either peer, so it signs its
 *   legs' signals with a key of its own (the best a lying server can do; signed signals,
 *   issue 17, make both peers refuse them).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Ack,
  AnnounceRequestSchema,
  type AnnounceResult,
  type ClientToServerEvents,
  describeIssues,
  ErrorCode,
  HandshakeAuthSchema,
  type Inbound,
  PeerLink,
  PROTOCOL_VERSION,
  type RingBootstrapResult,
  randomIdentity,
  type ServerToClientEvents,
  SignalEnvelopeSchema,
  SignalRequestSchema,
  signSignal,
} from '@ringswarm/shared';
import { Server, type Socket } from 'socket.io';

export type RelayMode = 'honest' | 'splice';

export interface MitmRelayOptions {
  mode: RelayMode;
  /** WebRTC for the relay's own links (splice mode). */
  wrtc: object;
  /** The announce interval the relay hands out, in seconds. Default {@link RELAY_INTERVAL_S}. */
  intervalS?: number;
}

/** Long enough that no client re-announces on its own during a test. */
export const RELAY_INTERVAL_S = 600;

/**
 * When one leg of a splice closes, the other is closed this much later, so that frames
 * already piped into it (a proof, say) still reach the peer on that leg.
 */
export const CLOSE_GRACE_MS = 1_000;

/** Which way a spliced frame went, by the WebRTC roles of the two real peers. */
export type SpliceDirection = 'initiator-to-responder' | 'responder-to-initiator';

type RelayServer = Server<Inbound<ClientToServerEvents>, ServerToClientEvents, object, { peerId: string }>;
type RelaySocket = Socket<Inbound<ClientToServerEvents>, ServerToClientEvents, object, { peerId: string }>;

/** One spliced connection: the initiator's offer answered by the relay, and the relay's own offer. */
interface Splice {
  /** Faces the initiator, posing as the responder. */
  readonly toInitiator: PeerLink;
  /** Faces the responder, posing as the initiator. */
  readonly toResponder: PeerLink;
}

class RefusedHandshake extends Error {
  readonly data: { code: ErrorCode };
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.data = { code };
  }
}

const spliceKey = (initiator: string, responder: string, sid: string) => `${initiator}>${responder}#${sid}`;

export class MitmRelay {
  readonly mode: RelayMode;
  readonly url: string;
  readonly #io: RelayServer;
  readonly #wrtc: object;
  readonly #intervalS: number;
  readonly #sockets = new Map<string, RelaySocket>();
  /** discovery key -> peer ID -> bytes left (null before the manifest). */
  readonly #swarms = new Map<string, Map<string, number | null>>();
  readonly #splices = new Map<string, Splice>();
  /** Every link the relay made, until it closes. */
  readonly #links = new Set<PeerLink>();
  readonly #graceTimers = new Set<ReturnType<typeof setTimeout>>();
  readonly #counts: Record<SpliceDirection, Map<number, number>> = {
    'initiator-to-responder': new Map(),
    'responder-to-initiator': new Map(),
  };
  #spliced = 0;
  /** The relay's own key: what it signs its legs' signals with. */
  readonly #identity = randomIdentity();
  #destroyed = false;
  #closed: Promise<void> | null = null;

  private constructor(io: RelayServer, url: string, options: MitmRelayOptions) {
    this.#io = io;
    this.url = url;
    this.mode = options.mode;
    this.#wrtc = options.wrtc;
    this.#intervalS = options.intervalS ?? RELAY_INTERVAL_S;
    io.use((socket, next) => {
      const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
      if (!auth.success) return next(new RefusedHandshake(ErrorCode.INVALID_HANDSHAKE, describeIssues(auth.error)));
      if (auth.data.version !== PROTOCOL_VERSION) {
        return next(new RefusedHandshake(ErrorCode.VERSION_MISMATCH, `protocol version ${auth.data.version}`));
      }
      if (this.#sockets.has(auth.data.peerId)) {
        return next(new RefusedHandshake(ErrorCode.DUPLICATE_PEER_ID, 'peer ID already connected'));
      }
      socket.data.peerId = auth.data.peerId;
      next();
    });
    io.on('connection', (socket) => this.#onConnection(socket));
  }

  /** Starts a relay on 127.0.0.1, on a port the system picks. */
  static async start(options: MitmRelayOptions): Promise<MitmRelay> {
    const http = createServer();
    const io: RelayServer = new Server(http, { transports: ['websocket'] });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = http.address() as AddressInfo;
    return new MitmRelay(io, `http://127.0.0.1:${port}`, options);
  }

  /** Peers announced in a swarm. */
  peersOf(discoveryKey: string): string[] {
    return [...(this.#swarms.get(discoveryKey)?.keys() ?? [])];
  }

  /** Connections the relay spliced itself into so far. */
  get spliced(): number {
    return this.#spliced;
  }

  /** Frames the relay piped through its splices with type byte `type`, one way or both. */
  forwarded(type: number, direction?: SpliceDirection): number {
    const ways: SpliceDirection[] = direction ? [direction] : ['initiator-to-responder', 'responder-to-initiator'];
    return ways.reduce((sum, way) => sum + (this.#counts[way].get(type) ?? 0), 0);
  }

  /** Every type byte the relay piped through its splices, with its count (both ways). */
  forwardedTypes(): Map<number, number> {
    const all = new Map<number, number>();
    for (const counts of Object.values(this.#counts)) {
      for (const [type, n] of counts) all.set(type, (all.get(type) ?? 0) + n);
    }
    return all;
  }

  #onConnection(socket: RelaySocket): void {
    const peerId = socket.data.peerId;
    if (this.#destroyed || this.#sockets.has(peerId)) {
      socket.disconnect(true);
      return;
    }
    this.#sockets.set(peerId, socket);
    socket.on('disconnect', () => {
      if (this.#sockets.get(peerId) === socket) this.#sockets.delete(peerId);
      for (const peers of this.#swarms.values()) peers.delete(peerId);
    });
    const handle = (event: keyof ClientToServerEvents, run: (payload: unknown) => Ack<object>) => {
      socket.on(event, (payload: unknown, ack: unknown) => {
        if (typeof ack === 'function') ack(run(payload));
      });
    };
    handle('announce', (payload) => this.#announce(peerId, payload));
    handle('signal', (payload) => this.#signal(peerId, payload));
    // No ring behind this relay: every caller is the first member.
    handle('ring:bootstrap', (): Ack<RingBootstrapResult> => ({ ok: true, peers: [] }));
  }

  #announce(peerId: string, payload: unknown): Ack<AnnounceResult> {
    const parsed = AnnounceRequestSchema.safeParse(payload);
    if (!parsed.success) {
      return { ok: false, code: ErrorCode.INVALID_PAYLOAD, message: describeIssues(parsed.error) };
    }
    const { discoveryKey, event, left, numwant } = parsed.data;
    let peers = this.#swarms.get(discoveryKey);
    if (!peers) {
      peers = new Map();
      this.#swarms.set(discoveryKey, peers);
    }
    if (event === 'stopped') peers.delete(peerId);
    else peers.set(peerId, left);
    let complete = 0;
    for (const l of peers.values()) if (l === 0) complete++;
    const others = [...peers.keys()].filter((id) => id !== peerId).slice(0, event === 'stopped' ? 0 : numwant);
    return { ok: true, peers: others, complete, incomplete: peers.size - complete, interval: this.#intervalS };
  }

  #signal(from: string, payload: unknown): Ack<object> {
    const parsed = SignalRequestSchema.safeParse(payload);
    if (!parsed.success) {
      return { ok: false, code: ErrorCode.INVALID_PAYLOAD, message: describeIssues(parsed.error) };
    }
    const { to, data } = parsed.data;
    if (!this.#sockets.has(to)) return { ok: false, code: ErrorCode.UNKNOWN_PEER, message: 'not connected' };
    if (this.mode === 'honest') this.#deliver(to, from, data);
    else this.#splice(from, to, data);
    return { ok: true };
  }

  /** Lies: delivers `data` to `to` as a signal from `from` (whoever `from` is). */
  inject(to: string, from: string, data: Record<string, unknown>): void {
    this.#deliver(to, from, data);
  }

  #deliver(to: string, from: string, data: Record<string, unknown>): void {
    if (this.#destroyed) return;
    this.#sockets.get(to)?.emit('signal', { from, data });
  }

  /**
   * A signal from `from` for `to`: fed to the relay's own link on that leg. The initiator's
   * offer starts a splice; signals of no splice are dropped.
   */
  #splice(from: string, to: string, raw: Record<string, unknown>): void {
    const envelope = SignalEnvelopeSchema.safeParse(raw);
    if (!envelope.success || this.#destroyed) return;
    const { sid } = envelope.data;
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(envelope.data.body) as Record<string, unknown>;
    } catch {
      return;
    }
    const asInitiator = this.#splices.get(spliceKey(from, to, sid));
    const asResponder = this.#splices.get(spliceKey(to, from, sid));
    if (asInitiator) asInitiator.toInitiator.signal(data);
    else if (asResponder) asResponder.toResponder.signal(data);
    else if (data.type === 'offer') this.#startSplice(from, to, sid, data);
  }

  #startSplice(from: string, to: string, sid: string, offer: Record<string, unknown>): void {
    const key = spliceKey(from, to, sid);
    const toInitiator = new PeerLink(from, { initiator: false, wrtc: this.#wrtc });
    const toResponder = new PeerLink(to, { initiator: true, wrtc: this.#wrtc });
    const splice: Splice = { toInitiator, toResponder };
    for (const link of [toInitiator, toResponder]) {
      this.#links.add(link);
      link.once('close', () => this.#links.delete(link));
    }
    this.#splices.set(key, splice);
    this.#spliced++;
    // Each leg's signals go out as if they came from the peer on the other leg, in order.
    const leg = (link: PeerLink, target: string, claimed: string) => {
      let queue = Promise.resolve();
      link.on('signal', (signal) => {
        queue = queue
          .then(() => signSignal(this.#identity, target, sid, signal))
          .then((signed) => this.#deliver(target, claimed, signed));
      });
    };
    leg(toInitiator, from, to);
    leg(toResponder, to, from);
    const pipe = (source: PeerLink, sink: PeerLink, direction: SpliceDirection) => {
      source.on('frame', (frame) => {
        const counts = this.#counts[direction];
        const type = frame[0] ?? -1;
        counts.set(type, (counts.get(type) ?? 0) + 1);
        sink.send(frame);
      });
      // One leg going down takes the other with it, as a real splice would.
      source.once('close', () => {
        if (this.#splices.get(key) === splice) this.#splices.delete(key);
        if (this.#destroyed) return;
        const timer = setTimeout(() => {
          this.#graceTimers.delete(timer);
          sink.close();
        }, CLOSE_GRACE_MS);
        this.#graceTimers.add(timer);
      });
    };
    pipe(toInitiator, toResponder, 'initiator-to-responder');
    pipe(toResponder, toInitiator, 'responder-to-initiator');
    toInitiator.signal(offer);
  }

  /** Closes every spliced link, every socket and the port. Idempotent. */
  destroy(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.#destroyed = true;
    for (const timer of this.#graceTimers) clearTimeout(timer);
    this.#graceTimers.clear();
    for (const link of [...this.#links]) link.close();
    this.#links.clear();
    this.#splices.clear();
    this.#swarms.clear();
    this.#io.disconnectSockets(true);
    this.#sockets.clear();
    // Resolves once the HTTP server has closed its port.
    this.#closed = this.#io.close();
    return this.#closed;
  }
}
