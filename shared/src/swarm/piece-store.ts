/**
 * Where verified pieces live. The engine only writes pieces whose hash it has checked.
 * Memory and "reader" (an existing file or buffer being seeded) stores live here; the
 * Node filesystem and browser OPFS stores plug in behind the same interface.
 */
import type { ByteReader, Manifest } from './manifest.js';
import { pieceSize } from './manifest.js';

export interface PieceStore {
  /** Reads `length` bytes at `begin` of piece `index`; rejects when the piece is absent. */
  read(index: number, begin: number, length: number): Promise<Uint8Array>;
  /** Stores a whole, verified piece. */
  write(index: number, data: Uint8Array): Promise<void>;
  /** Releases what the store holds. Idempotent. */
  destroy(): void;
}

/** Keeps pieces in memory: for small files and tests. */
export class MemoryPieceStore implements PieceStore {
  #pieces = new Map<number, Uint8Array>();

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    const piece = this.#pieces.get(index);
    if (!piece || begin + length > piece.length) throw new RangeError(`piece ${index} [${begin}+${length}] not stored`);
    return piece.subarray(begin, begin + length);
  }

  async write(index: number, data: Uint8Array): Promise<void> {
    this.#pieces.set(index, data.slice());
  }

  destroy(): void {
    this.#pieces.clear();
  }
}

/**
 * Serves pieces straight from the source being shared (a browser File, a Node buffer),
 * so seeding does not copy the file into memory. Read-only.
 */
export class ReaderPieceStore implements PieceStore {
  constructor(
    readonly manifest: Manifest,
    readonly reader: ByteReader,
  ) {}

  read(index: number, begin: number, length: number): Promise<Uint8Array> {
    if (begin + length > pieceSize(this.manifest, index)) {
      return Promise.reject(new RangeError(`piece ${index} [${begin}+${length}] out of range`));
    }
    return this.reader(index * this.manifest.pieceLength + begin, length);
  }

  write(): Promise<void> {
    return Promise.reject(new Error('ReaderPieceStore is read-only'));
  }

  destroy(): void {}
}

/** Reads every piece of a complete download, in order, as one array of parts. */
export async function readAllPieces(manifest: Manifest, store: PieceStore): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < manifest.pieces.length; i++) parts.push(await store.read(i, 0, pieceSize(manifest, i)));
  return parts;
}
