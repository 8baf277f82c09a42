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

/** One answer's peers, named to a peer, and until when that lets them signal. */
interface Introduction {
  readonly ids: readonly string[];
  readonly until: number;
}

/**
 * One process: for each peer, the answers that introduced others to it, oldest first. An
 * answer's own list of peer IDs is kept as it is (no copy, no entry per ID), since an
 * announce adds one at a time and a signal asks rarely; a check looks through at most
 * {@link maxPerPeer} IDs (the newest answer is always kept, and one names at most 1,000).
 */
export class MemoryIntroductions implements Introductions {
  readonly #byPeer = new Map<string, { answers: Introduction[]; ids: number }>();

  constructor(
    readonly windowMs = INTRODUCTION_WINDOW_MS,
    readonly maxPerPeer = MAX_INTRODUCTIONS_PER_PEER,
  ) {}

  introduce(peerId: string, introduced: readonly string[], now: number): void {
    const ids = introduced.includes(peerId) ? introduced.filter((id) => id !== peerId) : introduced;
    if (ids.length === 0) return;
    let known = this.#byPeer.get(peerId);
    if (!known) {
      known = { answers: [], ids: 0 };
      this.#byPeer.set(peerId, known);
    }
    known.answers.push({ ids, until: now + this.windowMs });
    known.ids += ids.length;
    // The lapsed, and the oldest past the bound (the newest answer always stays).
    let drop = 0;
    while (drop < known.answers.length - 1) {
      const oldest = known.answers[drop]!;
      if (oldest.until > now && known.ids <= this.maxPerPeer) break;
      known.ids -= oldest.ids.length;
      drop++;
    }
    if (drop > 0) known.answers.splice(0, drop);
  }

  async introduced(a: string, b: string, now: number): Promise<boolean> {
    return this.#has(a, b, now) || this.#has(b, a, now);
  }

  #has(peerId: string, other: string, now: number): boolean {
    const answers = this.#byPeer.get(peerId)?.answers;
    if (!answers) return false;
    for (let i = answers.length - 1; i >= 0; i--) {
      const answer = answers[i]!;
      if (answer.until <= now) return false;
      if (answer.ids.includes(other)) return true;
    }
    return false;
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

  /** Introductions on record for `peerId` (one answer's and another's may name the same peer). */
  countFor(peerId: string): number {
    return this.#byPeer.get(peerId)?.ids ?? 0;
  }
}
