/**
 * Chooses which piece to start next from a given peer. Pure: randomness is injected.
 *
 * - The first few pieces come from that random starting point, so a newcomer quickly has
 *   something to trade that its neighbours are unlikely to have.
 * - Then rarest first: the piece the fewest connected peers have, so rare pieces spread
 *   before their holders leave. Ties are broken by distance from a starting piece drawn at
 *   random once per swarm: peers that see the same availability fan out over different
 *   parts of the file, and each one's requests run forward through the file, so the peers
 *   serving it read nearly sequentially (a browser pays per File read; random order
 *   defeats any read-ahead).
 * - Given the piece last started from the same peer, the run goes on from it while the next
 *   piece is among the rarest; when it is not (a piece someone else already has: our run
 *   caught up with another peer's), the run jumps to a random point in the middle half of the
 *   longest stretch of the rarest pieces, not to the next one on. Several leechers of one
 *   seeder otherwise pile onto the same pieces: one run catches up with another and both then
 *   ask the seeder for the pieces just past the other's front, the very ones it is fetching
 *   (a seeder capped at 1 MB/s sent a 32 MiB file 1.2-1.5 times to two leechers). Runs that
 *   start at the same piece stay in step for good, each fetching what the other fetches; the
 *   seeder's `reject` breaks them up ({@link RUN_BROKEN}).
 * - Sequential mode picks the lowest index.
 * - Priority ranges come before all of that (a player's playhead: the pieces just ahead of
 *   it, {@link PiecePicker.setPriority}): the first range with a piece the peer can give,
 *   lowest index first. Everything else goes on rarest first.
 */
import type { Bitfield } from './bitfield.js';

/** What `after` says when the run from a peer was broken (it refused a piece): start the next one elsewhere. */
export const RUN_BROKEN = -2;

/** Pieces picked at random before rarest-first takes over. */
export const RANDOM_FIRST_PIECES = 4;

export interface PiecePickerOptions {
  /** Uniform random number in [0, 1). */
  random: () => number;
  /** Pick the lowest index first (streaming). Default false. */
  sequential?: boolean;
  /** Default {@link RANDOM_FIRST_PIECES}. */
  randomFirst?: number;
}

/** Pieces `from` (inclusive) to `to` (exclusive). */
export interface PieceRange {
  from: number;
  to: number;
}

export class PiecePicker {
  readonly pieceCount: number;
  sequential: boolean;
  /** How many connected peers have each piece. */
  readonly availability: Uint32Array;
  /** Tie-break rank of each piece: its distance forward from the random starting piece. */
  readonly #rank: Uint32Array;
  readonly #random: () => number;
  readonly #randomFirst: number;
  /** Piece ranges [from, to) picked before all others, most urgent first. */
  #priority: readonly PieceRange[] = [];

  constructor(pieceCount: number, options: PiecePickerOptions) {
    this.pieceCount = pieceCount;
    this.sequential = options.sequential ?? false;
    this.#random = options.random;
    this.#randomFirst = options.randomFirst ?? RANDOM_FIRST_PIECES;
    this.availability = new Uint32Array(pieceCount);
    const start = Math.floor(this.#random() * pieceCount);
    this.#rank = new Uint32Array(pieceCount);
    for (let i = 0; i < pieceCount; i++) this.#rank[i] = (i - start + pieceCount) % pieceCount;
  }

  /** Sets the ranges picked before all others, most urgent first; an empty list ends it. */
  setPriority(ranges: readonly PieceRange[]): void {
    this.#priority = ranges.map(({ from, to }) => ({
      from: Math.max(0, from),
      to: Math.min(to, this.pieceCount),
    }));
  }

  /** The priority ranges, most urgent first (clipped to the pieces there are). */
  get priority(): readonly PieceRange[] {
    return this.#priority;
  }

  /** The first piece of the priority ranges that `remote` has and `wanted` takes; -1 if none. */
  #pickPriority(remote: Bitfield, wanted: (index: number) => boolean): number {
    for (const { from, to } of this.#priority) {
      for (let i = from; i < to; i++) if (remote.has(i) && wanted(i)) return i;
    }
    return -1;
  }

  /** A peer's whole bitfield arrived (`+1`) or the peer left (`-1`). */
  addBitfield(bits: Bitfield, delta: 1 | -1 = 1): void {
    for (let i = 0; i < this.pieceCount; i++) if (bits.has(i)) this.availability[i]! += delta;
  }

  /** A peer announced one more piece. */
  addHave(index: number): void {
    if (index >= 0 && index < this.pieceCount) this.availability[index]!++;
  }

  /**
   * The piece to start next from a peer holding `remote`, among pieces for which
   * `wanted(index)` is true (not held, not in progress); -1 when there is none.
   * @param piecesHeld how many pieces we hold, for the random-first phase
   * @param after the piece last started from this peer, to go on from; -1 (or left out): none;
   *   {@link RUN_BROKEN}: jump into the longest stretch at once
   */
  pick(remote: Bitfield, wanted: (index: number) => boolean, piecesHeld: number, after = -1): number {
    const urgent = this.#pickPriority(remote, wanted);
    if (urgent >= 0) return urgent;
    if (this.sequential) {
      for (let i = 0; i < this.pieceCount; i++) if (remote.has(i) && wanted(i)) return i;
      return -1;
    }
    const randomPhase = piecesHeld < this.#randomFirst;
    // In the random phase every candidate counts as equally rare: the rank alone decides.
    const rarity = (i: number) => (randomPhase ? 0 : this.availability[i]!);
    let best = -1;
    let bestAvailability = Number.POSITIVE_INFINITY;
    let bestRank = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.pieceCount; i++) {
      if (!remote.has(i) || !wanted(i)) continue;
      const availability = rarity(i);
      const rank = this.#rank[i]!;
      if (availability < bestAvailability || (availability === bestAvailability && rank < bestRank)) {
        best = i;
        bestAvailability = availability;
        bestRank = rank;
      }
    }
    if (best < 0 || after === -1) return best;
    const rarest = (i: number) => remote.has(i) && wanted(i) && rarity(i) === bestAvailability;
    const next = after + 1;
    if (after >= 0 && next < this.pieceCount && rarest(next)) return next;
    return this.#intoLongestStretch(rarest);
  }

  /** A random piece in the middle half of the longest stretch of consecutive pieces for which `fits` is true. */
  #intoLongestStretch(fits: (index: number) => boolean): number {
    let from = -1;
    let length = 0;
    for (let i = 0; i < this.pieceCount; ) {
      if (!fits(i)) {
        i++;
        continue;
      }
      let end = i + 1;
      while (end < this.pieceCount && fits(end)) end++;
      if (end - i > length) {
        from = i;
        length = end - i;
      }
      i = end;
    }
    const quarter = Math.floor(length / 4);
    return from + quarter + Math.floor(this.#random() * (length - 2 * quarter));
  }
}
