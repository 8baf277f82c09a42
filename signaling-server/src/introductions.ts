/**
 * Who the tracker introduced to whom: a peer named in an announce or `ring:bootstrap`
 * answer given to another. The tracker relays a signal only between two peers one of which
 * was introduced to the other within {@link INTRODUCTION_WINDOW_MS}, so a socket can no
 * longer signal whomever it likes (or every ring member after one bootstrap).
 *
 * Two stores behind one interface: {@link MemoryIntroductions} for one process, and
 * `RedisIntroductions` (./redis-introductions.ts) for a cluster, where the answer may be
 * given by one instance and the reply signal arrive at another.
 */

/** How long an introduction lets the two peers signal each other through the tracker. */
export const INTRODUCTION_WINDOW_MS = 10 * 60_000;
/** Most introductions kept for one peer (the newest win): bounds the bookkeeping per socket. */
export const MAX_INTRODUCTIONS_PER_PEER = 1_024;

export interface Introductions {
  /**
   * Records that the peers in `introduced` were named to `peerId` at `now`. Does not wait: a
   * shared store sends the write ahead of any later check on the same connection, and a
   * failed write only costs the introduction.
   */
  introduce(peerId: string, introduced: readonly string[], now: number): void;
  /** True when `a` was introduced to `b` or `b` to `a` within the window before `now`. */
  introduced(a: string, b: string, now: number): Promise<boolean>;
  /** `peerId` left this instance: what was introduced to it may go (a shared store lets it expire). */
  forget(peerId: string): void;
  /** Drops everything introduced to `peerId`, in every store (the operator blocked its swarm). */
  revoke(peerId: string): Promise<void>;
}

/**
 * One process: for each peer, the IDs introduced to it with their expiry, in insertion order
 * (a renewed introduction moves to the end), so the oldest are at the front to prune.
 */
export class MemoryIntroductions implements Introductions {
  readonly #byPeer = new Map<string, Map<string, number>>();

  constructor(
    readonly windowMs = INTRODUCTION_WINDOW_MS,
    readonly maxPerPeer = MAX_INTRODUCTIONS_PER_PEER,
  ) {}

  introduce(peerId: string, introduced: readonly string[], now: number): void {
    if (introduced.length === 0) return;
    let known = this.#byPeer.get(peerId);
    if (!known) {
      known = new Map();
      this.#byPeer.set(peerId, known);
    }
    const expires = now + this.windowMs;
    for (const id of introduced) {
      if (id === peerId) continue;
      known.delete(id);
      known.set(id, expires);
    }
    for (const [id, until] of known) {
      if (until > now && known.size <= this.maxPerPeer) break;
      known.delete(id);
    }
  }

  async introduced(a: string, b: string, now: number): Promise<boolean> {
    return this.#has(a, b, now) || this.#has(b, a, now);
  }

  #has(peerId: string, other: string, now: number): boolean {
    const until = this.#byPeer.get(peerId)?.get(other);
    return until !== undefined && until > now;
  }

  forget(peerId: string): void {
    this.#byPeer.delete(peerId);
  }

  async revoke(peerId: string): Promise<void> {
    this.#byPeer.delete(peerId);
  }

  /** Peers with introductions on record (for tests and metrics). */
  get peers(): number {
    return this.#byPeer.size;
  }

  /** Introductions on record for `peerId`. */
  countFor(peerId: string): number {
    return this.#byPeer.get(peerId)?.size ?? 0;
  }
}
