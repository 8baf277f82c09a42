/**
 * Requests and their answers: every request a node sends (ring maintenance, lookups, the
 * DHT on top) waits here under its request id `rid` until its answer comes, or is sent
 * again after a timeout, or is given up. One table, one retry loop.
 */
import type { Clock } from '../util/clock.js';
import type { DhtReply, DhtRequest, RingReply, RingRequest } from './messages.js';

/** How long a request waits for its answer before it is sent again or given up. */
export const RING_RPC_TIMEOUT_MS = 1_000;
/** Resends after a timeout before a node is taken for dead (one lost packet is not death). */
export const RING_RPC_RETRIES = 1;

export type RingRpcRequest = RingRequest | DhtRequest;
export type RingRpcReply = RingReply | DhtReply;
export type RingReplyType = RingRpcReply['type'];
/** A request without its `rid` (the RPC layer numbers requests). */
export type RingRequestBody<R extends { rid: number } = RingRpcRequest> = R extends { rid: number }
  ? Omit<R, 'rid'>
  : never;
export type RingReplyOf<T extends RingReplyType> = Extract<RingRpcReply, { type: T }>;

/** The answers a DHT request takes (either kind: the DHT store checks which one came). */
export const DHT_REPLY_TYPES = ['dht-put-reply', 'dht-get-reply'] as const;

export interface RingRpcDeps {
  clock: Clock;
  /** Delivers a request; delivery may fail silently (the timeout covers it). */
  send(to: bigint, msg: RingRpcRequest): void;
}

export interface RingRpcOptions {
  /**
   * How long a request waits for its answer (default RING_RPC_TIMEOUT_MS); a function lets
   * the transport give a node it still has to connect to more time than one it already talks to.
   */
  timeoutMs?: number | ((to: bigint) => number);
  /** Resends after a timeout (default RING_RPC_RETRIES). */
  retries?: number;
}

/** How long one request waits and how often it is resent, instead of the defaults. */
export interface RingRequestWait {
  timeoutMs?: number;
  retries?: number;
}

interface PendingRequest {
  to: bigint;
  /** Reply types that answer it; any other reply with its rid is ignored. */
  accepts: readonly RingReplyType[];
  timer: unknown;
  callback: (reply: RingRpcReply | null) => void;
}

export class RingRpc {
  readonly #clock: Clock;
  readonly #send: (to: bigint, msg: RingRpcRequest) => void;
  readonly #timeoutMs: (to: bigint) => number;
  readonly #retries: number;
  readonly #pending = new Map<number, PendingRequest>();
  #nextRid = 1;
  #destroyed = false;

  constructor(deps: RingRpcDeps, options: RingRpcOptions = {}) {
    this.#clock = deps.clock;
    this.#send = deps.send;
    const timeout = options.timeoutMs ?? RING_RPC_TIMEOUT_MS;
    this.#timeoutMs = typeof timeout === 'number' ? () => timeout : timeout;
    this.#retries = options.retries ?? RING_RPC_RETRIES;
  }

  /** Requests waiting for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends `body` to `to` (the `rid` is set here). `callback` gets the first reply from `to`
   * whose type is in `accepts`, or null when none came after the retries or the connection
   * to `to` was lost ({@link abandon}). Never called after {@link destroy}. `wait` replaces
   * the timeout and retries for this request (a routed one waits for several hops).
   */
  request<T extends RingReplyType>(
    to: bigint,
    body: RingRequestBody,
    accepts: readonly T[],
    callback: (reply: RingReplyOf<T> | null) => void,
    wait?: RingRequestWait,
  ): void {
    if (this.#destroyed) return;
    this.#attempt(to, body, accepts, callback as (reply: RingRpcReply | null) => void, 0, wait);
  }

  #attempt(
    to: bigint,
    body: RingRequestBody,
    accepts: readonly RingReplyType[],
    callback: (reply: RingRpcReply | null) => void,
    resends: number,
    wait: RingRequestWait | undefined,
  ): void {
    const rid = this.#nextRid++;
    const timer = this.#clock.setTimeout(() => {
      if (this.#destroyed) return;
      this.#pending.delete(rid);
      if (resends < (wait?.retries ?? this.#retries)) this.#attempt(to, body, accepts, callback, resends + 1, wait);
      else callback(null);
    }, wait?.timeoutMs ?? this.#timeoutMs(to));
    this.#pending.set(rid, { to, accepts, timer, callback });
    this.#send(to, { ...body, rid } as RingRpcRequest);
  }

  /** An answer came in: settles the request it answers, if `from` was asked and the type fits. */
  settle(from: bigint, reply: RingRpcReply): void {
    if (this.#destroyed) return;
    const pending = this.#pending.get(reply.rid);
    if (!pending || pending.to !== from || !pending.accepts.includes(reply.type)) return;
    this.#clock.clearTimeout(pending.timer);
    this.#pending.delete(reply.rid);
    pending.callback(reply);
  }

  /**
   * The transport lost its connection to `node`: every request waiting on it fails now
   * (oldest first), as if its time had run out, instead of at the end of its timeout.
   */
  abandon(node: bigint): void {
    if (this.#destroyed) return;
    for (const [rid, p] of [...this.#pending]) {
      // An earlier callback may have settled it, or destroyed everything.
      if (p.to !== node || !this.#pending.has(rid)) continue;
      this.#clock.clearTimeout(p.timer);
      this.#pending.delete(rid);
      p.callback(null);
    }
  }

  /** Idempotent: cancels every timer; no callback runs afterwards. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const p of this.#pending.values()) this.#clock.clearTimeout(p.timer);
    this.#pending.clear();
  }
}
