import type { Ack, ErrorCode, ServerToClientEvents } from '@ringswarm/shared/protocol';
import type { ServerConfig } from '../config.js';
import type { Introductions } from '../introductions.js';
import type { KeyedRateLimit } from '../keyed-rate-limit.js';
import type { OperatorCounter } from '../operator.js';
import type { RingMembers } from '../ring-members.js';
import type { SwarmRegistry } from '../swarm-registry.js';
import type { TrafficCounter } from '../traffic.js';

/** What every event handler may use. Handlers never see a socket. */
export interface HandlerContext {
  registry: SwarmRegistry;
  ring: RingMembers;
  traffic: TrafficCounter;
  config: ServerConfig;
  random: () => number;
  now: () => number;
  /** True when the operator has blocked the share with this discovery key (the deny list). */
  isBlocked(discoveryKey: string): boolean;
  /** Refused announces and reports, for /metrics. */
  operator: OperatorCounter;
  /** Who was introduced to whom (announce and bootstrap answers): who may signal whom. */
  introductions: Introductions;
  /** Signals relayed to one target, from all senders (see SIGNALS_PER_TARGET_PER_S). */
  signalLimit: KeyedRateLimit;
  /** `ice` requests: per peer (its socket) and per IP address. */
  iceLimit: { perSocket: KeyedRateLimit; perAddress: KeyedRateLimit };
  /** UDP port of the built-in STUN server; undefined when it is off. */
  stunPort: number | undefined;
  /** The remote address and the `Host` header of a peer's socket on this instance. */
  socketInfo(peerId: string): { address: string; host: string | undefined } | undefined;
  /** True when the peer is connected to this instance or, in a cluster, to another one. */
  isConnected(peerId: string): Promise<boolean>;
  /** Delivers an event to a connected peer, on whichever instance holds its connection. */
  deliver<K extends keyof ServerToClientEvents>(
    to: string,
    event: K,
    ...args: Parameters<ServerToClientEvents[K]>
  ): void;
}

/**
 * A handler: validates `payload` (still `unknown`) and answers with an ack. Async because
 * the registry may live in Redis; a registry failure rejects and the tracker answers for it.
 */
export type Handler = (ctx: HandlerContext, peerId: string, payload: unknown) => Promise<Ack<object>>;

export function errorAck(code: ErrorCode, message: string): Ack<never> {
  return { ok: false, code, message };
}
