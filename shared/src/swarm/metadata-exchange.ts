/**
 * Getting the manifest from peers when all we have is the infohash, and serving it to
 * others. It comes in chunks of {@link METADATA_CHUNK_LENGTH} from one peer at a time; the
 * whole must hash to the infohash and decode, or that peer is banned and the next one asked.
 * A peer that says it has none is not asked again until its bitfield shows it has one.
 *
 * Each chunk request has a deadline ({@link METADATA_REQUEST_TIMEOUT_MS}): a peer that lets it
 * pass is reported (`timedOut`, the swarm snubs it) and the next peer is asked. A late answer
 * to the first chunk is still taken, from whoever sends it, so a swarm of slow peers is slow,
 * not stuck.
 *
 * Serving: one request per peer at a time. The chunk waits in {@link PeerWire.metadataWanted}
 * until the uploader sends it (within the upload limits, the link's backpressure and
 * choking, like a block); requests that come meanwhile are dropped and counted.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { concatBytes, equalBytes, fromHex, sha256 } from '../util/bytes.js';
import { type Clock, systemClock } from '../util/clock.js';
import { decodeManifest, encodeManifest, type Manifest } from './manifest.js';
import type { PeerWire } from './peer-wire.js';
import { METADATA_CHUNK_LENGTH } from './wire-codec.js';

/**
 * How long a peer may take to answer one manifest chunk request before the next peer is asked.
 * A chunk is at most 16 KiB: an honest peer on a 64 kbit/s path sends one in 2 s, and one whose
 * upload limit is busy with a block (16 KiB in debt at 4 KiB/s) waits 4 s more before it
 * starts. 8 s leaves that peer room, while a silent peer costs a new leecher 8 s at most.
 */
export const METADATA_REQUEST_TIMEOUT_MS = 8_000;

interface MetadataFetch {
  from: string;
  total: number;
  chunks: Uint8Array[];
}

export interface MetadataHooks {
  /** A manifest that matches the infohash arrived. */
  fetched(manifest: Manifest): void;
  /** `wire` served a manifest that does not match or does not decode: ban it, close it. */
  refused(wire: PeerWire, error: RingswarmError): void;
  /** `wire` let our chunk request time out (the swarm snubs it; we ask the next peer). Default: nothing. */
  timedOut?(wire: PeerWire): void;
  /** `wire` answered the chunk request we had sent it (late or not). Default: nothing. */
  answered?(wire: PeerWire): void;
  /** `wire` asked for a chunk we have: it waits in `wire.metadataWanted` for the uploader. Default: nothing. */
  wanted?(wire: PeerWire): void;
}

export class MetadataExchange {
  readonly #infoHash: string;
  readonly #peers: ReadonlyMap<string, PeerWire>;
  readonly #hooks: MetadataHooks;
  readonly #clock: Clock;
  #encoded: Uint8Array | null = null;
  #fetch: MetadataFetch | null = null;
  /** The deadline of the chunk request of {@link #fetch}. */
  #timer: unknown = null;
  /** Peers that said they have no manifest (until they announce pieces). */
  readonly #refused = new Set<string>();
  #dropped = 0;
  #destroyed = false;

  /**
   * @param peers every connected peer, in connection order
   * @param deps the clock of the request deadlines; default {@link systemClock}
   */
  constructor(
    infoHash: string,
    peers: ReadonlyMap<string, PeerWire>,
    hooks: MetadataHooks,
    deps: { clock: Clock } = { clock: systemClock },
  ) {
    this.#infoHash = infoHash;
    this.#peers = peers;
    this.#hooks = hooks;
    this.#clock = deps.clock;
  }

  /** True once the manifest is known (given or fetched). */
  get known(): boolean {
    return this.#encoded !== null;
  }

  /** Requests dropped because the same peer already had one waiting to be served. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The manifest is known: serve it from now on, fetch no more. */
  setManifest(manifest: Manifest): void {
    this.#encoded = encodeManifest(manifest);
    this.#fetch = null;
    this.#clearTimer();
  }

  /**
   * Asks the first handshaken peer that did not refuse, is not snubbed and has no request of
   * ours pending, unless the manifest is known or a fetch runs from a peer that is not snubbed.
   */
  fetch(): void {
    if (this.known || this.#destroyed) return;
    const running = this.#fetch ? this.#peers.get(this.#fetch.from) : undefined;
    if (running && !running.snubbed) return;
    const wire = [...this.#peers.values()].find(
      (w) => w.handshaken && !w.snubbed && w.metadataAsked === null && !this.#refused.has(w.remoteId),
    );
    if (!wire) return; // a fetch from a snubbed peer goes on: its late answer is still taken
    this.#fetch = { from: wire.remoteId, total: 0, chunks: [] };
    this.#ask(wire, 0);
  }

  /**
   * A peer asked for a chunk: refused at once when we have no manifest or no such chunk;
   * else held for the uploader (see the file comment), unless one is held already.
   */
  onRequest(wire: PeerWire, chunk: number): void {
    const encoded = this.#encoded;
    const total = encoded?.length ?? 0;
    if (!encoded || chunk * METADATA_CHUNK_LENGTH >= total) {
      wire.send({ type: 'metadata-reject', chunk });
      return;
    }
    if (wire.metadataWanted !== null) {
      this.#dropped++;
      return;
    }
    wire.metadataWanted = chunk;
    this.#hooks.wanted?.(wire);
  }

  /** The bytes of chunk `chunk` and the manifest's length, or null when there is no such chunk. */
  chunk(chunk: number): { total: number; data: Uint8Array } | null {
    const encoded = this.#encoded;
    const begin = chunk * METADATA_CHUNK_LENGTH;
    if (!encoded || begin >= encoded.length) return null;
    return {
      total: encoded.length,
      data: encoded.subarray(begin, Math.min(encoded.length, begin + METADATA_CHUNK_LENGTH)),
    };
  }

  /**
   * A chunk arrived. From the peer we fetch from, out of order or with a changed total is
   * `ERR_BAD_METADATA`. From another peer, it is the late answer to a request that timed out:
   * taken when it is the first chunk and none came yet (that peer is fetched from from now on),
   * dropped otherwise.
   */
  onData(wire: PeerWire, chunk: number, total: number, data: Uint8Array): void {
    if (wire.metadataAsked === chunk) {
      wire.metadataAsked = null;
      this.#hooks.answered?.(wire);
    } else if (this.#fetch?.from !== wire.remoteId) {
      return; // never asked: dropped
    }
    let fetch = this.#fetch;
    if (this.known || this.#destroyed || !fetch) return;
    if (fetch.from !== wire.remoteId) {
      if (chunk !== 0 || fetch.chunks.length !== 0) return;
      fetch = { from: wire.remoteId, total: 0, chunks: [] };
      this.#fetch = fetch;
    }
    if (chunk !== fetch.chunks.length || (fetch.total !== 0 && fetch.total !== total)) {
      throw new RingswarmError(ErrorCode.BAD_METADATA, `unexpected metadata chunk ${chunk}`);
    }
    this.#clearTimer();
    fetch.total = total;
    fetch.chunks.push(data.slice());
    if (fetch.chunks.length * METADATA_CHUNK_LENGTH < total) {
      this.#ask(wire, fetch.chunks.length);
      return;
    }
    void this.#finish(wire, concatBytes(fetch.chunks));
  }

  /** A peer said it has no manifest (its answer to our one request): ask another. */
  onReject(wire: PeerWire): void {
    if (wire.metadataAsked !== null) {
      wire.metadataAsked = null;
      this.#hooks.answered?.(wire);
    }
    this.#refused.add(wire.remoteId);
    if (this.#fetch?.from === wire.remoteId) {
      this.#fetch = null;
      this.#clearTimer();
      this.fetch();
    }
  }

  /** A peer sent its bitfield before we know the manifest: it has one now, even if it refused before. */
  onBitfield(wire: PeerWire): void {
    if (this.#refused.delete(wire.remoteId)) this.fetch();
  }

  /** A peer left: a fetch from it is abandoned (the caller asks another). */
  peerGone(remoteId: string): void {
    this.#refused.delete(remoteId);
    if (this.#fetch?.from !== remoteId) return;
    this.#fetch = null;
    this.#clearTimer();
  }

  /** Ignores fetches that finish from now on and clears the deadline. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    this.#clearTimer();
  }

  /** Sends one chunk request, with its deadline. */
  #ask(wire: PeerWire, chunk: number): void {
    wire.metadataAsked = chunk;
    wire.send({ type: 'metadata-request', chunk });
    this.#clearTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (this.#destroyed || this.known || this.#fetch?.from !== wire.remoteId) return;
      if (this.#peers.get(wire.remoteId) !== wire || wire.metadataAsked !== chunk) return;
      this.#hooks.timedOut?.(wire);
    }, METADATA_REQUEST_TIMEOUT_MS);
  }

  #clearTimer(): void {
    if (this.#timer === null) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #finish(wire: PeerWire, encoded: Uint8Array): Promise<void> {
    const digest = await sha256(encoded);
    if (this.#destroyed || this.known) return;
    this.#fetch = null;
    let manifest: Manifest;
    try {
      if (!equalBytes(digest, fromHex(this.#infoHash))) {
        throw new RingswarmError(ErrorCode.BAD_METADATA, 'manifest does not match the infohash');
      }
      manifest = decodeManifest(encoded);
    } catch (err) {
      const error =
        err instanceof RingswarmError
          ? err
          : new RingswarmError(ErrorCode.BAD_METADATA, String((err as Error)?.message));
      this.#hooks.refused(wire, error);
      this.fetch();
      return;
    }
    this.#hooks.fetched(manifest);
  }
}
