/**
 * Per-address limits checked in socket.io's `allowRequest`, before the WebSocket upgrade and
 * before any proof is verified: how many connections one source address (an IPv6 /64, see
 * {@link addressKey}) holds at once, and how many handshakes it may start per
 * {@link HANDSHAKE_WINDOW_S} (a token bucket). Loopback is not exempt; 0 turns a limit off.
 */
import { ErrorCode } from '@ringswarm/shared/protocol';
import { addressKey } from './handshake-guard.js';
import { KeyedRateLimit } from './keyed-rate-limit.js';

/** The window of `--handshakes-per-ip`, seconds: the bucket refills that many tokens in it. */
export const HANDSHAKE_WINDOW_S = 10;

export interface IpLimitOptions {
  /** Connections one address may hold at once; 0 = no limit. */
  maxConnsPerIp: number;
  /** Handshakes one address may start per {@link HANDSHAKE_WINDOW_S} (and in a burst); 0 = no limit. */
  handshakesPerIp: number;
  now: () => number;
}

export class IpLimits {
  /** Address key -> open connections; keys at zero are deleted, so this holds live addresses only. */
  readonly #open = new Map<string, number>();
  readonly #handshakes: KeyedRateLimit | undefined;
  readonly #maxConns: number;

  constructor(options: IpLimitOptions) {
    this.#maxConns = options.maxConnsPerIp;
    this.#handshakes =
      options.handshakesPerIp > 0
        ? new KeyedRateLimit(options.handshakesPerIp / HANDSHAKE_WINDOW_S, options.handshakesPerIp, options.now)
        : undefined;
  }

  /**
   * Whether a new handshake from `address` may go on: null, or the code to refuse it with.
   * A connection refused for the count takes no handshake token. Connections still being set
   * up are not counted yet, so a burst may pass the count by at most what the handshake bucket
   * lets through at once.
   */
  admit(address: string): ErrorCode | null {
    const key = addressKey(address);
    if (this.#maxConns > 0 && (this.#open.get(key) ?? 0) >= this.#maxConns) return ErrorCode.TOO_MANY_CONNECTIONS;
    if (this.#handshakes && !this.#handshakes.take(key)) return ErrorCode.RATE_LIMITED;
    return null;
  }

  /** A connection from `address` opened (the engine accepted its handshake). */
  opened(address: string): void {
    const key = addressKey(address);
    this.#open.set(key, (this.#open.get(key) ?? 0) + 1);
  }

  /** A connection from `address` closed. */
  closed(address: string): void {
    const key = addressKey(address);
    const n = (this.#open.get(key) ?? 0) - 1;
    if (n > 0) this.#open.set(key, n);
    else this.#open.delete(key);
  }

  /** Open connections from `address`. */
  connections(address: string): number {
    return this.#open.get(addressKey(address)) ?? 0;
  }
}
