/**
 * Getting the manifest from peers when all we have is the infohash, and serving it to
 * others. It comes in chunks of {@link METADATA_CHUNK_LENGTH} from one peer at a time; the
 * whole must hash to the infohash and decode, or that peer is banned and the next one asked.
 * A peer that says it has none is not asked again until its bitfield shows it has one.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { concatBytes, equalBytes, fromHex, sha256 } from '../util/bytes.js';
import { decodeManifest, encodeManifest, type Manifest } from './manifest.js';
import type { PeerWire } from './peer-wire.js';
import { METADATA_CHUNK_LENGTH } from './wire-codec.js';

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
}

export class MetadataExchange {
  readonly #infoHash: string;
  readonly #peers: ReadonlyMap<string, PeerWire>;
  readonly #hooks: MetadataHooks;
  #encoded: Uint8Array | null = null;
  #fetch: MetadataFetch | null = null;
  /** Peers that said they have no manifest (until they announce pieces). */
  readonly #refused = new Set<string>();
  #destroyed = false;

  /** @param peers every connected peer, in connection order */
  constructor(infoHash: string, peers: ReadonlyMap<string, PeerWire>, hooks: MetadataHooks) {
    this.#infoHash = infoHash;
    this.#peers = peers;
    this.#hooks = hooks;
  }

  /** True once the manifest is known (given or fetched). */
  get known(): boolean {
    return this.#encoded !== null;
  }

  /** The manifest is known: serve it from now on, fetch no more. */
  setManifest(manifest: Manifest): void {
    this.#encoded = encodeManifest(manifest);
  }

  /** Asks the first handshaken peer that did not refuse, unless known or a fetch is running. */
  fetch(): void {
    if (this.known || this.#fetch) return;
    const wire = [...this.#peers.values()].find((w) => w.handshaken && !this.#refused.has(w.remoteId));
    if (!wire) return;
    this.#fetch = { from: wire.remoteId, total: 0, chunks: [] };
    wire.send({ type: 'metadata-request', chunk: 0 });
  }

  /** A peer asked for a chunk: send it, or refuse when we have no manifest or no such chunk. */
  onRequest(wire: PeerWire, chunk: number): void {
    const encoded = this.#encoded;
    const total = encoded?.length ?? 0;
    if (!encoded || chunk * METADATA_CHUNK_LENGTH >= total) {
      wire.send({ type: 'metadata-reject', chunk });
      return;
    }
    const begin = chunk * METADATA_CHUNK_LENGTH;
    const data = encoded.subarray(begin, Math.min(total, begin + METADATA_CHUNK_LENGTH));
    wire.send({ type: 'metadata-data', chunk, total, data });
  }

  /** A chunk arrived; out of order or with a changed total is `ERR_BAD_METADATA`. */
  onData(wire: PeerWire, chunk: number, total: number, data: Uint8Array): void {
    const fetch = this.#fetch;
    if (this.known || !fetch || fetch.from !== wire.remoteId) return;
    if (chunk !== fetch.chunks.length || (fetch.total !== 0 && fetch.total !== total)) {
      throw new RingswarmError(ErrorCode.BAD_METADATA, `unexpected metadata chunk ${chunk}`);
    }
    fetch.total = total;
    fetch.chunks.push(data.slice());
    if (fetch.chunks.length * METADATA_CHUNK_LENGTH < total) {
      wire.send({ type: 'metadata-request', chunk: fetch.chunks.length });
      return;
    }
    void this.#finish(wire, concatBytes(fetch.chunks));
  }

  /** A peer said it has no manifest: ask another. */
  onReject(wire: PeerWire): void {
    this.#refused.add(wire.remoteId);
    if (this.#fetch?.from === wire.remoteId) {
      this.#fetch = null;
      this.fetch();
    }
  }

  /** A peer sent its bitfield before we know the manifest: it has one now, even if it refused before. */
  onBitfield(wire: PeerWire): void {
    if (this.#refused.delete(wire.remoteId)) this.fetch();
  }

  /** A peer left: a fetch from it is abandoned (the caller asks another). */
  peerGone(remoteId: string): void {
    if (this.#fetch?.from === remoteId) this.#fetch = null;
  }

  /** Ignores fetches that finish from now on. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
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
