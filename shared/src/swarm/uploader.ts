/**
 * Serving blocks: queues what unchoked peers request and pumps it out of the store, one
 * block at a time per peer, within the upload rate limits (this swarm's and the client's)
 * and the link's backpressure (a send that returns false waits for `drain`).
 *
 * Manifest chunks go out through the same pump, under the same rules, ahead of the peer's
 * blocks: a 5-byte request must never buy 16 KiB outside the limits (it once bought 31 MiB in
 * a second from a seeder limited to 1 KiB/s). A chunk asked by a peer we choke waits, held in
 * {@link PeerWire.metadataWanted}, until we unchoke it; the choker counts such a peer as
 * interested (see `ChokeRounds`), so a lone seeder unchokes a new leecher at once.
 *
 * A seeder gives each piece out once while it can: a block of a piece it is sending another
 * peer (which has not announced the whole piece yet) is refused (`reject`), once per block, and
 * the asker gets it from that peer once it has it. A seeder's upload is what a crowd of leechers waits on; every byte it
 * sends twice is a byte of the file the swarm gets later. (BitTorrent's super-seeding, BEP 16,
 * has the same aim; it hides pieces instead, which slows a lone leecher.) A second request for
 * a refused block is served: the peer it went to may be gone quiet, or not connected to the
 * asker.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import type { Clock } from '../util/clock.js';
import type { Bitfield } from './bitfield.js';
import { PIPELINE_DEPTH } from './block-scheduler.js';
import type { Manifest } from './manifest.js';
import { type Block, blockKey, type PeerWire } from './peer-wire.js';
import type { PieceStore } from './piece-store.js';
import { delayAll, RateLimiter, reserveAll } from './rate-limiter.js';
import { RateMeter } from './rate-meter.js';
import { checkBlock } from './wire-codec.js';

/**
 * Requests one peer may keep queued with us; one more is a protocol violation. Eight times
 * {@link PIPELINE_DEPTH}, which is `MAX_PIPELINE`: no more than we would ever keep
 * outstanding with a peer ourselves.
 */
export const MAX_QUEUED_REQUESTS = PIPELINE_DEPTH * 8;

export interface UploaderHooks {
  /** Reading the store failed; the block is skipped. */
  readFailed(what: string, err: unknown): void;
  /**
   * The bytes of manifest chunk `chunk` and the manifest's length (see
   * `MetadataExchange.chunk`); null when there is none. Default: no manifest is served.
   */
  metadataChunk?(chunk: number): { total: number; data: Uint8Array } | null;
  /** True while we hold every piece (a seeder refuses pieces it already gave out). Default: false. */
  seeding?(): boolean;
}

export class Uploader {
  /** This swarm's own upload limit. */
  readonly limit: RateLimiter;
  /** Payload bytes sent to every peer, and their rate. */
  readonly meter: RateMeter;
  readonly #clock: Clock;
  readonly #store: PieceStore;
  readonly #peers: ReadonlyMap<string, PeerWire>;
  readonly #shared: () => RateLimiter | undefined;
  readonly #hooks: UploaderHooks;
  #timer: unknown = null;
  /** While seeding: the peer each piece first went to. */
  readonly #givenTo = new Map<number, string>();
  /** Bytes of manifest chunks sent (not in {@link meter}: that counts piece payload, as the tracker does). */
  #metadataBytes = 0;
  #destroyed = false;

  /**
   * @param peers every connected peer, to resume them all when a rate limit lets go
   * @param shared the client's upload limit across swarms, if any (read at every send)
   */
  constructor(
    deps: { clock: Clock },
    store: PieceStore,
    peers: ReadonlyMap<string, PeerWire>,
    shared: () => RateLimiter | undefined,
    hooks: UploaderHooks,
  ) {
    this.#clock = deps.clock;
    this.#store = store;
    this.#peers = peers;
    this.#shared = shared;
    this.#hooks = hooks;
    const now = () => deps.clock.now();
    this.meter = new RateMeter(now);
    this.limit = new RateLimiter(now);
  }

  /**
   * A peer's request: checked against the manifest (`ERR_BAD_FRAME` when out of range or
   * over {@link MAX_QUEUED_REQUESTS}), dropped when we choke the peer or lack the piece,
   * else queued and served.
   */
  request(wire: PeerWire, block: Block, manifest: Manifest | null, have: Bitfield | null): void {
    if (!manifest || !have) return;
    checkBlock(manifest, block.index, block.begin, block.length);
    // A choked peer's requests are dropped (it was told); so are requests for pieces we lack.
    if (wire.amChoking || !have.has(block.index)) return;
    if (wire.uploads.length >= MAX_QUEUED_REQUESTS) {
      throw new RingswarmError(ErrorCode.BAD_FRAME, 'too many outstanding requests');
    }
    wire.uploads.push({ index: block.index, begin: block.begin, length: block.length });
    void this.pump(wire);
  }

  /** Manifest bytes sent to every peer. */
  get metadataBytes(): number {
    return this.#metadataBytes;
  }

  /**
   * Sends a peer's held manifest chunk, then its queued blocks, until nothing is left, a limit
   * says wait, or the link is full. Nothing goes to a peer we choke.
   */
  async pump(wire: PeerWire): Promise<void> {
    if (wire.uploading) return;
    wire.uploading = true;
    try {
      while (!this.#destroyed && !wire.waitingForDrain && wire.attached && !wire.amChoking) {
        const metadata = wire.metadataWanted !== null;
        if (!metadata && wire.uploads.length === 0) break;
        const wait = delayAll(this.#limiters());
        if (wait > 0) {
          this.#resumeIn(wait);
          break;
        }
        if (metadata) {
          this.#sendMetadata(wire);
          continue;
        }
        const block = wire.uploads.shift()!;
        if (this.#refuses(wire, block)) {
          if (!wire.send({ type: 'reject', ...block })) wire.waitingForDrain = true;
          continue;
        }
        let data: Uint8Array;
        try {
          data = await this.#store.read(block.index, block.begin, block.length);
        } catch (err) {
          this.#hooks.readFailed(`reading piece ${block.index}`, err);
          continue;
        }
        if (this.#destroyed || !wire.attached) break;
        wire.uploadMeter.add(data.length);
        this.meter.add(data.length);
        reserveAll(this.#limiters(), data.length);
        if (!wire.send({ type: 'piece', index: block.index, begin: block.begin, data })) {
          wire.waitingForDrain = true;
        }
      }
    } finally {
      wire.uploading = false;
    }
  }

  /**
   * True when a seeder refuses `block` to `wire`: the piece went to another peer still
   * connected and unchoked that does not have it all yet, and this block was not refused to
   * `wire` before.
   * Otherwise the piece is noted as `wire`'s if nobody had it.
   */
  #refuses(wire: PeerWire, block: Block): boolean {
    if (!this.#hooks.seeding?.()) return false;
    const holder = this.#givenTo.get(block.index);
    const holderWire = holder === undefined ? undefined : this.#peers.get(holder);
    // A piece whose taker left or was choked since (and will not be sent the rest) is free again.
    if (!holderWire || holderWire.amChoking) {
      this.#givenTo.set(block.index, wire.remoteId);
      return false;
    }
    // Once the first taker has the piece, refusing gains nothing: it may be seeding and refusing too.
    if (holderWire === wire || holderWire.bits?.has(block.index)) return false;
    const key = blockKey(block.index, block.begin);
    if (wire.refusedByUs.has(key)) return false;
    wire.refusedByUs.add(key);
    return true;
  }

  /** Sends the chunk held for `wire` (the caller checked the limits), and frees its one request slot. */
  #sendMetadata(wire: PeerWire): void {
    const chunk = wire.metadataWanted;
    if (chunk === null) return;
    wire.metadataWanted = null;
    const found = this.#hooks.metadataChunk?.(chunk) ?? null;
    if (!found) {
      if (!wire.send({ type: 'metadata-reject', chunk })) wire.waitingForDrain = true;
      return;
    }
    this.#metadataBytes += found.data.length;
    reserveAll(this.#limiters(), found.data.length);
    if (!wire.send({ type: 'metadata-data', chunk, total: found.total, data: found.data })) {
      wire.waitingForDrain = true;
    }
  }

  /** Resumes every peer (say, after a limit changed). */
  pumpAll(): void {
    for (const wire of this.#peers.values()) void this.pump(wire);
  }

  /** Stops serving and clears the timer. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #limiters(): RateLimiter[] {
    const shared = this.#shared();
    return shared ? [this.limit, shared] : [this.limit];
  }

  #resumeIn(ms: number): void {
    if (this.#timer !== null) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (!this.#destroyed) this.pumpAll();
    }, ms);
  }
}
