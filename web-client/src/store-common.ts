/**
 * What the page's two kept piece stores (OPFS and IndexedDB) share: a piece is a Blob kept
 * on disk by the browser, a few recently read pieces are cached for peers that ask for
 * blocks, a file of the download is a Blob of slices of the piece Blobs, and the last
 * storage failure is kept so the page can tell a full disk from other errors. Each store
 * says only how one piece is stored and found again.
 */
import { fileRange, type Manifest, type PieceStore } from '@ringswarm/shared';

/** Whole pieces kept for answering block requests (peers ask 16 KiB at a time, mostly in order). */
export const READ_CACHE_PIECES = 4;

/** A PieceStore whose pieces are disk-backed Blobs (`B`: File for OPFS, Blob for IndexedDB). */
export abstract class KeptPieceStore<B extends Blob> implements PieceStore {
  readonly infoHash: string;
  /** Piece index -> its Blob as found again once written (pieces never change). */
  #blobs = new Map<number, B>();
  /** Recently read whole pieces, least recently used first. */
  #cache = new Map<number, Promise<Uint8Array>>();
  #destroyed = false;
  /** The last storage failure, kept so the page can tell a full disk from other errors. */
  lastError: Error | null = null;

  constructor(infoHash: string) {
    this.infoHash = infoHash;
  }

  /** Stores the bytes of a whole piece. */
  protected abstract storePiece(index: number, data: Uint8Array): Promise<void>;
  /** The stored Blob of a piece; rejects when the piece is not stored. */
  protected abstract findPiece(index: number): Promise<B>;

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
      await this.storePiece(index, data);
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
    // A piece written again must not be answered from the old Blob or cache.
    this.#blobs.delete(index);
    this.#cache.delete(index);
  }

  /** The Blob of a stored piece (disk-backed: slicing or saving it does not load it). */
  async file(index: number): Promise<B> {
    let blob = this.#blobs.get(index);
    if (!blob) {
      blob = await this.findPiece(index);
      this.#blobs.set(index, blob);
    }
    return blob;
  }

  /**
   * One file of the download as a Blob made of slices of the piece Blobs: the browser streams
   * it from disk when it is saved. Every piece the file touches must be stored.
   */
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

  /** Releases cached pieces; what is stored stays for a later resume. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    this.#cache.clear();
    this.#blobs.clear();
  }
}
