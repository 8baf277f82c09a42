/**
 * Which pieces a store already holds, found by hashing what it reads back: a download that
 * resumes after a restart, or files that are already where a seeder expects them.
 */
import { Bitfield } from './bitfield.js';
import { type Manifest, pieceSize } from './manifest.js';
import type { PieceStore } from './piece-store.js';

export interface VerifyStoredOptions {
  /** Hex SHA-256 of a piece, as the manifest lists it (the caller picks WebCrypto, node:crypto…). */
  hash: (bytes: Uint8Array) => Promise<string>;
  /** Called after each piece with (pieces checked, all pieces). */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Reads every piece of `manifest` from `store` and keeps those whose hash matches. A piece
 * the store cannot read (missing or short file) counts as absent; it is never an error.
 */
export async function verifyStoredPieces(
  manifest: Pick<Manifest, 'pieces' | 'pieceLength' | 'length'>,
  store: Pick<PieceStore, 'read'>,
  options: VerifyStoredOptions,
): Promise<Bitfield> {
  const total = manifest.pieces.length;
  const have = new Bitfield(total);
  for (let i = 0; i < total; i++) {
    try {
      const bytes = await store.read(i, 0, pieceSize(manifest, i));
      if ((await options.hash(bytes)) === manifest.pieces[i]) have.set(i);
    } catch {
      // absent or unreadable: not held
    }
    options.onProgress?.(i + 1, total);
  }
  return have;
}
