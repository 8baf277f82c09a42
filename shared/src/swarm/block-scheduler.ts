/**
 * Which block to ask which peer for next. Pieces are fetched in blocks of
 * {@link BLOCK_LENGTH} into partial pieces; a peer's pipeline is kept as full as its
 * bandwidth-delay product needs (the request window), within the download rate limits.
 * Pieces already started are finished before new ones are picked (by the
 * {@link PiecePicker}); once every missing block is asked of someone, endgame asks idle
 * peers for the same blocks and cancels the copies that lose the race.
 *
 * Pieces in the picker's priority ranges (a player's playhead) go before everything, in order
 * from the playhead, started ones included; when the most urgent one is not first in line (a
 * seek), the requests in flight are cancelled, so that it does not wait behind them in a
 * rate-limited peer's queue ({@link BlockScheduler.prioritize}).
 *
 * A complete piece is handed to `complete` (the verifier); the scheduler forgets it.
 *
 * A peer that sends none of the blocks we asked for within {@link BLOCK_REQUEST_TIMEOUT_MS}
 * is reported (`timedOut`: the swarm snubs it and calls {@link BlockScheduler.snub}); its
 * blocks go back to be asked of others, and a piece only it was allowed to fill starts over.
 * One timer serves every peer's deadline and the rate-limit retries.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import type { Clock } from '../util/clock.js';
import type { Bitfield } from './bitfield.js';
import { type Manifest, pieceSize } from './manifest.js';
import { type Block, blockKey, type PeerWire } from './peer-wire.js';
import { type PiecePicker, RUN_BROKEN } from './piece-picker.js';
import { delayAll, RateLimiter, reserveAll } from './rate-limiter.js';
import { BLOCK_LENGTH, checkBlock } from './wire-codec.js';

/** Requests kept outstanding with one peer at least (blocks). */
export const PIPELINE_DEPTH = 32;
/** Most requests kept outstanding with one peer (blocks), on long, fast paths. */
export const MAX_PIPELINE = 256;
/**
 * How long a peer with requests outstanding may go without sending one of the blocks, counted
 * from its last block (or from the request that found none outstanding), not from each
 * request: a deep pipeline at a slow peer is not a stall. A peer must deliver one 16 KiB block
 * per 10 s (1.6 KiB/s, below any honest path, a TURN relay's included, and below a seeder that
 * shares a 16 KiB/s limit among its five upload slots); a silent one holds its blocks for 10 s.
 */
export const BLOCK_REQUEST_TIMEOUT_MS = 10_000;
/**
 * How long a piece a peer refused (`reject`) is asked of others only. The seeder that refused
 * it is sending it to another peer, which passes it on once it has it all (a capped seeder's
 * queue for one peer is a few seconds long); one that does not (gone quiet, or not connected to
 * us) costs this long, then the seeder serves it (it refuses a block once). Asking again at
 * once instead had every leecher of a crowd fetch the last piece from the seeder.
 */
export const REFUSED_PIECE_MS = 3_000;

/** A piece being fetched. */
export interface PartialPiece {
  data: Uint8Array;
  /** Offsets of blocks requested from some peer and not yet received. */
  requested: Set<number>;
  /** Offset of each received block -> the peer that sent it. */
  received: Map<number, string>;
  blocks: number;
  /** Set when the piece failed its hash check before: only this peer may fill it. */
  owner: string | null;
}

export interface SchedulerHooks {
  /** True when piece `index` may be started: not held, not being verified, wanted. */
  mayStart(index: number): boolean;
  /** True when piece `index` failed its hash check with blocks from several peers. */
  isSuspect(index: number): boolean;
  /** Every block of piece `index` arrived; called before the sender's pipeline is refilled. */
  complete(index: number, piece: PartialPiece): void;
  /** `wire` sent none of our blocks for {@link BLOCK_REQUEST_TIMEOUT_MS}. Default: nothing. */
  timedOut?(wire: PeerWire): void;
  /** `wire` sent a block we asked it for (late or not); called before its pipeline is refilled. Default: nothing. */
  answered?(wire: PeerWire): void;
}

/** What the scheduler works on once the manifest is known. */
interface Pieces {
  manifest: Manifest;
  have: Bitfield;
  picker: PiecePicker;
}

export class BlockScheduler {
  /** This swarm's own download limit. */
  readonly limit: RateLimiter;
  readonly #clock: Clock;
  readonly #peers: ReadonlyMap<string, PeerWire>;
  readonly #shared: () => RateLimiter | undefined;
  readonly #hooks: SchedulerHooks;
  #pieces: Pieces | null = null;
  readonly #partial = new Map<number, PartialPiece>();
  /**
   * Set by the first endgame request and never cleared: `stats().endgame` reports whether
   * the download reached endgame, and stays true after it completes (clearing it would
   * change what a finished swarm reports).
   */
  #endgame = false;
  /** The one timer: the earliest of a rate-limit retry and a peer's block deadline. */
  #timer: unknown = null;
  /** When {@link #timer} fires. */
  #timerAt = Number.POSITIVE_INFINITY;
  /** When to try requesting again after a rate limit said wait; infinite when not waiting. */
  #retryAt = Number.POSITIVE_INFINITY;
  #destroyed = false;

  /**
   * @param peers every connected peer, in connection order
   * @param shared the client's download limit across swarms, if any (read at every request)
   */
  constructor(
    deps: { clock: Clock },
    peers: ReadonlyMap<string, PeerWire>,
    shared: () => RateLimiter | undefined,
    hooks: SchedulerHooks,
  ) {
    this.#clock = deps.clock;
    this.#peers = peers;
    this.#shared = shared;
    this.#hooks = hooks;
    this.limit = new RateLimiter(() => deps.clock.now());
  }

  /** Starts scheduling: the manifest is known. `have` and `picker` are the swarm's, kept current by it. */
  start(manifest: Manifest, have: Bitfield, picker: PiecePicker): void {
    this.#pieces = { manifest, have, picker };
  }

  /** True once every remaining block was requested and duplicates went to idle peers. */
  get endgame(): boolean {
    return this.#endgame;
  }

  /** Pieces with blocks requested or received, in the order they were started. */
  get partialPieces(): number[] {
    return [...this.#partial.keys()];
  }

  requestAll(): void {
    for (const wire of this.#peers.values()) this.requestMore(wire);
  }

  /**
   * The picker's priority ranges changed. When the first missing piece of the most urgent
   * range is not first in line (a seek, or a player that caught up with the download): not
   * started yet, or its blocks asked for behind others, every request in flight with the peers
   * that have it is cancelled and handed back, so that this piece's blocks are next in their
   * queues instead of behind a full pipeline (32 blocks are 7 s at 75 KB/s). Then every
   * pipeline is filled again, the ranges' pieces first, in order.
   */
  prioritize(): void {
    const pieces = this.#pieces;
    if (!pieces) return;
    const next = this.#urgentPiece(pieces);
    if (next >= 0 && !this.#firstInLine(next)) {
      for (const wire of this.#peers.values()) if (wire.bits?.has(next)) this.#cancelInflight(wire);
    }
    this.requestAll();
  }

  /** The first missing piece of the most urgent priority range; -1 if none. */
  #urgentPiece({ have, picker }: Pieces): number {
    const urgent = picker.priority[0];
    if (!urgent) return -1;
    for (let i = urgent.from; i < urgent.to; i++) if (!have.has(i)) return i;
    return -1;
  }

  /**
   * True when piece `index` needs nothing done to come next: it is being verified, or every
   * block of it not yet in is asked for, and ahead of any other block asked of the same peer.
   */
  #firstInLine(index: number): boolean {
    const partial = this.#partial.get(index);
    if (!partial) return !this.#hooks.mayStart(index);
    if (partial.requested.size + partial.received.size < partial.blocks) return false;
    for (const wire of this.#peers.values()) {
      let behind = false;
      for (const block of wire.inflight.values()) {
        if (block.index !== index) behind = true;
        else if (behind) return false;
      }
    }
    return true;
  }

  /** Cancels everything asked of `wire` and hands it back (unless another peer is fetching the same block). */
  #cancelInflight(wire: PeerWire): void {
    for (const [key, block] of wire.inflight) {
      if (!this.#askedElsewhere(wire, key)) this.#unrequest(block);
      wire.send({ type: 'cancel', index: block.index, begin: block.begin, length: block.length });
    }
    wire.inflight.clear();
  }

  /** True when a peer other than `wire` has block `key` in flight (an endgame copy). */
  #askedElsewhere(wire: PeerWire, key: string): boolean {
    for (const other of this.#peers.values()) if (other !== wire && other.inflight.has(key)) return true;
    return false;
  }

  /** Marks a block as asked of nobody, so that it is asked again. */
  #unrequest(block: Block): void {
    this.#partial.get(block.index)?.requested.delete(block.begin);
  }

  /** Fills this peer's request pipeline with blocks it has and nobody else is fetching. */
  requestMore(wire: PeerWire): void {
    const pieces = this.#pieces;
    if (!pieces || pieces.have.complete || wire.chokedByRemote || wire.snubbed || !wire.bits) return;
    const window = this.window(wire);
    while (wire.inflight.size < window) {
      const wait = delayAll(this.#limiters());
      if (wait > 0) {
        this.#retryIn(wait);
        return;
      }
      // A send can close the link on the spot (a failed channel), and the swarm then drops the
      // peer and its bitfield: nothing more is asked of it.
      const remote = wire.bits;
      if (!remote) return;
      const block = this.#nextBlock(wire, remote, pieces);
      if (!block) {
        this.#retryRefused(wire);
        break;
      }
      const now = this.#clock.now();
      if (wire.inflight.size === 0) {
        wire.progressAt = now;
        this.#wakeBy(now + BLOCK_REQUEST_TIMEOUT_MS);
      }
      wire.inflight.set(blockKey(block.index, block.begin), { ...block, sentAt: now });
      wire.send({ type: 'request', ...block });
      reserveAll(this.#limiters(), block.length);
    }
  }

  /**
   * Requests to keep outstanding with a peer: twice its bandwidth-delay product (measured
   * rate times the smallest round trip seen), so a long, fast path (a TURN relay across a
   * continent) stays full. Never below {@link PIPELINE_DEPTH}: a window-limited rate would
   * otherwise shrink its own estimate. At most {@link MAX_PIPELINE}.
   */
  window(wire: PeerWire): number {
    const rate = wire.downloadMeter.rate();
    if (!Number.isFinite(wire.minRtt) || rate === 0) return PIPELINE_DEPTH;
    const bdpBlocks = (rate * (wire.minRtt / 1000)) / BLOCK_LENGTH;
    return Math.max(PIPELINE_DEPTH, Math.min(MAX_PIPELINE, Math.ceil(2 * bdpBlocks)));
  }

  /**
   * A block arrived from a peer. Throws `ERR_BAD_FRAME` before the manifest or out of range.
   * A block we did not ask this peer for is dropped; a copy that lost an endgame race is
   * counted for the peer's rate only. The other copies asked for are cancelled. A late answer
   * to a request that timed out is taken like any other, unless its piece is now another
   * peer's to fill.
   */
  receive(wire: PeerWire, index: number, begin: number, data: Uint8Array): void {
    const pieces = this.#pieces;
    if (!pieces) throw new RingswarmError(ErrorCode.BAD_FRAME, 'piece before manifest');
    checkBlock(pieces.manifest, index, begin, data.length);
    const key = blockKey(index, begin);
    const late = !wire.inflight.has(key);
    const block = late ? wire.timedOut.get(key) : wire.inflight.get(key);
    // A block we did not ask this peer for (or cancelled) is dropped, not stored.
    if (!block || block.length !== data.length) return;
    const now = this.#clock.now();
    if (late) wire.timedOut.delete(key);
    else {
      wire.inflight.delete(key);
      wire.minRtt = Math.min(wire.minRtt, now - block.sentAt);
    }
    wire.progressAt = now;
    wire.downloadMeter.add(data.length);
    this.#hooks.answered?.(wire);
    // Endgame: the same block was asked of others too; tell them not to bother.
    for (const other of this.#peers.values()) {
      if (other !== wire && other.inflight.delete(key)) {
        other.send({ type: 'cancel', index, begin, length: block.length });
      }
    }
    const partial = this.#partial.get(index);
    if (!partial || partial.received.has(begin) || (partial.owner !== null && partial.owner !== wire.remoteId)) {
      this.requestMore(wire);
      return;
    }
    partial.requested.delete(begin);
    partial.received.set(begin, wire.remoteId);
    partial.data.set(data, begin);
    wire.downloaded += data.length;
    if (partial.received.size === partial.blocks) {
      this.#partial.delete(index);
      this.#hooks.complete(index, partial);
    }
    this.requestMore(wire);
  }

  /**
   * The peer refused a block we asked it for: it goes back to be asked of others, its piece is
   * asked of others only for {@link REFUSED_PIECE_MS}, and our next run from this peer starts
   * elsewhere ({@link RUN_BROKEN}: it refuses a run it is sending someone else). A refusal of
   * something we did not ask this peer for is ignored.
   */
  refused(wire: PeerWire, block: Block): void {
    const key = blockKey(block.index, block.begin);
    const asked = wire.inflight.get(key);
    if (!asked || asked.length !== block.length) return;
    wire.inflight.delete(key);
    if (!this.#askedElsewhere(wire, key)) this.#unrequest(block);
    const now = this.#clock.now();
    wire.progressAt = now;
    wire.refusedUs.set(block.index, now);
    wire.lastStarted = RUN_BROKEN;
    this.requestAll();
  }

  /**
   * Hands back what was asked of a peer that choked us or left, for others to fetch; a
   * piece only it was allowed to fill (see {@link PartialPiece.owner}) starts over.
   */
  release(wire: PeerWire): void {
    this.#takeBack(wire);
    // A peer that choked us dropped our requests; one that left will answer none.
    wire.timedOut.clear();
  }

  /**
   * The peer let its requests time out (the swarm snubbed it): they are asked of others, and
   * kept in {@link PeerWire.timedOut} so that a late answer is still taken; a piece only it
   * was allowed to fill starts over, for another peer.
   */
  snub(wire: PeerWire): void {
    for (const [key, block] of wire.inflight) {
      wire.timedOut.delete(key);
      wire.timedOut.set(key, block);
    }
    for (const key of wire.timedOut.keys()) {
      if (wire.timedOut.size <= MAX_PIPELINE) break;
      wire.timedOut.delete(key);
    }
    this.#takeBack(wire);
  }

  /** Forgets every partial piece and clears the timer. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#retryAt = Number.POSITIVE_INFINITY;
    this.#partial.clear();
  }

  /** Hands back the peer's requests in flight, and the pieces only it was allowed to fill. */
  #takeBack(wire: PeerWire): void {
    for (const [key, block] of wire.inflight) if (!this.#askedElsewhere(wire, key)) this.#unrequest(block);
    wire.inflight.clear();
    for (const [index, partial] of this.#partial) {
      if (partial.owner === wire.remoteId) this.#partial.delete(index);
    }
  }

  /**
   * A peer with nothing more for us but pieces it refused lately is asked again once the first
   * refusal runs out (a timer, since nothing else may happen on this link meanwhile).
   */
  #retryRefused(wire: PeerWire): void {
    const now = this.#clock.now();
    let first = Number.POSITIVE_INFINITY;
    for (const [index, at] of wire.refusedUs) {
      // A refusal that ran out is forgotten, or it would call for a retry every millisecond.
      if (now - at >= REFUSED_PIECE_MS) wire.refusedUs.delete(index);
      else first = Math.min(first, at);
    }
    if (Number.isFinite(first)) this.#retryIn(first + REFUSED_PIECE_MS - now);
  }

  #nextBlock(wire: PeerWire, remote: Bitfield, { manifest, have, picker }: Pieces): Block | null {
    const remoteId = wire.remoteId;
    const now = this.#clock.now();
    // A piece this peer refused us lately is asked of others.
    const refused = (i: number) => {
      const at = wire.refusedUs.get(i);
      if (at === undefined) return false;
      if (now - at < REFUSED_PIECE_MS) return true;
      wire.refusedUs.delete(i);
      return false;
    };
    const startable = (i: number) => !this.#partial.has(i) && this.#hooks.mayStart(i) && !refused(i);
    const mayFill = (index: number, partial: PartialPiece) =>
      remote.has(index) && (partial.owner === null || partial.owner === remoteId) && !refused(index);
    // What a player waits for comes first, nearest the playhead first, started or not.
    for (const { from, to } of picker.priority) {
      for (let i = from; i < to; i++) {
        if (!remote.has(i)) continue;
        const partial = this.#partial.get(i);
        if (!partial) {
          if (startable(i)) return this.#startPiece(manifest, i, remoteId);
        } else if (mayFill(i, partial)) {
          const block = this.#unrequestedBlock(manifest, i, partial);
          if (block) return block;
        }
      }
    }
    // Finish pieces already started before starting new ones.
    for (const [index, partial] of this.#partial) {
      if (!mayFill(index, partial)) continue;
      const block = this.#unrequestedBlock(manifest, index, partial);
      if (block) return block;
    }
    const index = picker.pick(remote, startable, have.count, wire.lastStarted);
    if (index >= 0) {
      wire.lastStarted = index;
      return this.#startPiece(manifest, index, remoteId);
    }
    return this.#endgameBlock(wire, remote, manifest, refused);
  }

  /** Starts piece `index` and returns its first block. */
  #startPiece(manifest: Manifest, index: number, remoteId: string): Block | null {
    const size = pieceSize(manifest, index);
    const partial: PartialPiece = {
      data: new Uint8Array(size),
      requested: new Set(),
      received: new Map(),
      blocks: Math.ceil(size / BLOCK_LENGTH),
      owner: this.#hooks.isSuspect(index) ? remoteId : null,
    };
    this.#partial.set(index, partial);
    return this.#unrequestedBlock(manifest, index, partial);
  }

  /**
   * Endgame: every missing block is already asked of some peer. An idle peer that has one
   * asks for it too; whichever copy arrives first wins and the others are cancelled.
   */
  #endgameBlock(
    wire: PeerWire,
    remote: Bitfield,
    manifest: Manifest,
    refused: (index: number) => boolean,
  ): Block | null {
    for (const [index, partial] of this.#partial) {
      if (!remote.has(index) || partial.owner !== null || refused(index)) continue;
      const size = pieceSize(manifest, index);
      for (let begin = 0; begin < size; begin += BLOCK_LENGTH) {
        if (partial.received.has(begin) || wire.inflight.has(blockKey(index, begin))) continue;
        this.#endgame = true;
        return { index, begin, length: Math.min(BLOCK_LENGTH, size - begin) };
      }
    }
    return null;
  }

  #unrequestedBlock(manifest: Manifest, index: number, partial: PartialPiece): Block | null {
    const size = pieceSize(manifest, index);
    for (let begin = 0; begin < size; begin += BLOCK_LENGTH) {
      if (partial.requested.has(begin) || partial.received.has(begin)) continue;
      partial.requested.add(begin);
      return { index, begin, length: Math.min(BLOCK_LENGTH, size - begin) };
    }
    return null;
  }

  #limiters(): RateLimiter[] {
    const shared = this.#shared();
    return shared ? [this.limit, shared] : [this.limit];
  }

  /** Asks every peer again in `ms`, or sooner if a retry is already due sooner. */
  #retryIn(ms: number): void {
    const at = this.#clock.now() + ms;
    if (at >= this.#retryAt) return;
    this.#retryAt = at;
    this.#wakeBy(at);
  }

  /** Makes sure the timer fires no later than `at`. */
  #wakeBy(at: number): void {
    if (this.#destroyed || (this.#timer !== null && this.#timerAt <= at)) return;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(() => this.#wake(), Math.max(0, at - this.#clock.now()));
  }

  /** The timer fired: retry after a rate limit, report the peers past their deadline, set the next one. */
  #wake(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#destroyed) return;
    const now = this.#clock.now();
    if (this.#retryAt <= now) {
      this.#retryAt = Number.POSITIVE_INFINITY;
      this.requestAll();
    }
    for (const wire of [...this.#peers.values()]) {
      if (this.#destroyed) return;
      if (wire.inflight.size > 0 && now - wire.progressAt >= BLOCK_REQUEST_TIMEOUT_MS) this.#hooks.timedOut?.(wire);
    }
    // A peer reported once is not reported again until it makes progress.
    let next = this.#retryAt;
    for (const wire of this.#peers.values()) {
      const due = wire.progressAt + BLOCK_REQUEST_TIMEOUT_MS;
      if (wire.inflight.size > 0 && due > now) next = Math.min(next, due);
    }
    if (Number.isFinite(next)) this.#wakeBy(next);
  }
}
