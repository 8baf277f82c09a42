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

/** Bytes read ahead per reader call when serving small blocks. */
export const READ_AHEAD_BYTES = 1024 * 1024;

/**
 * Wraps a reader so that many small reads (16 KiB blocks) become fewer large ones: reads
 * `chunkBytes` at a time, keeps the last `slots` chunks, and shares reads in progress.
 * A browser File pays a round trip per read (about 2 ms in Chromium); peers request pieces
 * mostly in file order (see PiecePicker), so read-ahead hits.
 */
export function readAhead(read: ByteReader, totalLength: number, chunkBytes = READ_AHEAD_BYTES, slots = 8): ByteReader {
  const chunks = new Map<number, Promise<Uint8Array>>();
  const chunk = (n: number): Promise<Uint8Array> => {
    let p = chunks.get(n);
    if (p) {
      chunks.delete(n); // re-insert: most recently used last
    } else {
      const start = n * chunkBytes;
      p = read(start, Math.min(chunkBytes, totalLength - start));
      p.catch(() => chunks.delete(n));
    }
    chunks.set(n, p);
    while (chunks.size > slots) chunks.delete(chunks.keys().next().value as number);
    return p;
  };
  return async (offset, length) => {
    const first = Math.floor(offset / chunkBytes);
    const last = Math.floor((offset + length - 1) / chunkBytes);
    if (length === 0 || last - first >= slots) return read(offset, length);
    const out = new Uint8Array(length);
    for (let n = first; n <= last; n++) {
      const bytes = await chunk(n);
      const from = Math.max(offset, n * chunkBytes);
      const to = Math.min(offset + length, n * chunkBytes + bytes.length);
      out.set(bytes.subarray(from - n * chunkBytes, to - n * chunkBytes), from - offset);
    }
    return out;
  };
}
