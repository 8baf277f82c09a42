/**
 * Pieces of a download kept in IndexedDB, for pages without OPFS (plain HTTP). The same
 * PieceStore as OpfsPieceStore, and the same habits: a piece is stored only after the engine
 * verified it, each as a Blob (Chromium and Firefox keep large Blobs as files, so reading one
 * back or saving a file does not load it into the heap), a few recently read pieces cached,
 * and on resume every kept piece hashed again in the worker before it counts.
 */
import { decodeManifest, encodeManifest, infoHashOf, type Manifest, type PieceStore } from '@ringswarm/shared';
import { idbDelete, idbGet, idbPut, MANIFESTS, PIECES, pieceRange } from './idb.js';
import { fileRange, READ_CACHE_PIECES } from './opfs-store.js';

export class IndexedDbPieceStore implements PieceStore {
  readonly infoHash: string;
  /** Piece index -> its Blob as read back from the database (pieces never change). */
  #blobs = new Map<number, Blob>();
  /** Recently read whole pieces, least recently used first. */
  #cache = new Map<number, Promise<Uint8Array>>();
  #destroyed = false;
  /** The last storage failure, kept so the page can tell a full disk from other errors. */
  lastError: Error | null = null;

  constructor(infoHash: string) {
    this.infoHash = infoHash;
  }

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    if (this.#destroyed) throw new Error('store destroyed');
    let piece = this.#cache.get(index);
    if (piece) {
      this.#cache.delete(index); // re-inserted below as most recently used
    } else {
      piece = this.file(index).then(async (b) => new Uint8Array(await b.arrayBuffer()));
      piece.catch(() => this.#cache.delete(index));
    }
    this.#cache.set(index, piece);
    while (this.#cache.size > READ_CACHE_PIECES) this.#cache.delete(this.#cache.keys().next().value as number);
    const bytes = await piece;
    if (begin + length > bytes.length) throw new RangeError(`piece ${index} [${begin}+${length}] out of range`);
    return bytes.subarray(begin, begin + length);
  }

  async write(index: number, data: Uint8Array): Promise<void> {
    if (this.#destroyed) throw new Error('store destroyed');
    try {
      await idbPut(PIECES, [this.infoHash, index], new Blob([data as Uint8Array<ArrayBuffer>]));
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
    this.#blobs.delete(index);
    this.#cache.delete(index);
  }

  /** The Blob of a stored piece; rejects with RangeError when the piece is not stored. */
  async file(index: number): Promise<Blob> {
    let blob = this.#blobs.get(index);
    if (!blob) {
      const value = await idbGet(PIECES, [this.infoHash, index]);
      if (!(value instanceof Blob)) throw new RangeError(`piece ${index} not stored`);
      blob = value;
      this.#blobs.set(index, blob);
    }
    return blob;
  }

  /** One file of the download as a Blob made of slices of the piece Blobs. */
  async fileBlob(manifest: Manifest, fileIndex: number): Promise<Blob> {
    const { start, end } = fileRange(manifest, fileIndex);
    const parts: Blob[] = [];
    for (let index = Math.floor(start / manifest.pieceLength); index * manifest.pieceLength < end; index++) {
      const pieceStart = index * manifest.pieceLength;
      const blob = await this.file(index);
      parts.push(blob.slice(Math.max(0, start - pieceStart), Math.min(blob.size, end - pieceStart)));
    }
    return new Blob(parts, { type: 'application/octet-stream' });
  }

  /** Releases cached pieces; the records stay for a later resume (see {@link removeIdbDownload}). */
  destroy(): void {
    this.#destroyed = true;
    this.#cache.clear();
    this.#blobs.clear();
  }
}

/** Keeps the verified manifest of a download, for resuming after a reload. */
export async function saveIdbManifest(infoHash: string, manifest: Manifest): Promise<void> {
  await idbPut(MANIFESTS, infoHash, encodeManifest(manifest));
}

/**
 * The manifest kept for `infoHash`, or null when there is none. It is checked like one
 * fetched from a peer: it must decode and hash to the infohash.
 */
export async function loadIdbManifest(infoHash: string): Promise<Manifest | null> {
  try {
    const value = await idbGet(MANIFESTS, infoHash);
    if (!(value instanceof Uint8Array)) return null;
    const manifest = decodeManifest(value);
    return (await infoHashOf(manifest)) === infoHash ? manifest : null;
  } catch {
    return null;
  }
}

/** Deletes everything kept for a download. */
export async function removeIdbDownload(infoHash: string): Promise<void> {
  await idbDelete(PIECES, pieceRange(infoHash)).catch(() => {});
  await idbDelete(MANIFESTS, infoHash).catch(() => {});
}
