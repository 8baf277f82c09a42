/**
 * Pieces of a download kept in IndexedDB, for pages without OPFS (plain HTTP). The same
 * PieceStore as OpfsPieceStore, and the same habits: a piece is stored only after the engine
 * verified it, each as a Blob (Chromium and Firefox keep large Blobs as files, so reading one
 * back or saving a file does not load it into the heap), a few recently read pieces cached,
 * and on resume every kept piece hashed again in the worker before it counts.
 */
import { encodeManifest, loadVerifiedManifest, type Manifest } from '@ringswarm/shared';
import { idbDelete, idbGet, idbPut, MANIFESTS, PIECES, pieceRange } from './idb.js';
import { KeptPieceStore } from './store-common.js';

export class IndexedDbPieceStore extends KeptPieceStore<Blob> {
  protected async storePiece(index: number, data: Uint8Array): Promise<void> {
    await idbPut(PIECES, [this.infoHash, index], new Blob([data as Uint8Array<ArrayBuffer>]));
  }

  /** Rejects with RangeError when the piece is not stored. */
  protected async findPiece(index: number): Promise<Blob> {
    const value = await idbGet(PIECES, [this.infoHash, index]);
    if (!(value instanceof Blob)) throw new RangeError(`piece ${index} not stored`);
    return value;
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
    return value instanceof Uint8Array ? await loadVerifiedManifest(value, infoHash) : null;
  } catch {
    return null;
  }
}

/** Deletes everything kept for a download. */
export async function removeIdbDownload(infoHash: string): Promise<void> {
  await idbDelete(PIECES, pieceRange(infoHash)).catch(() => {});
  await idbDelete(MANIFESTS, infoHash).catch(() => {});
}
