import {
  Bitfield,
  choosePieceLength,
  createManifest,
  hashPieces,
  infoHashOf,
  type Manifest,
  ReaderPieceStore,
} from '@ringswarm/shared';
import { noteShare } from './leak-check.js';

/**
 * Builds the manifest, infohash and a read-only store for a buffer, as a seeder would; notes
 * the share for the file's leak check (./leak-check.ts).
 * @param pieceLength default: what a seeder would choose for that size
 */
export async function seedable(name: string, data: Uint8Array, pieceLength = choosePieceLength(data.length)) {
  const read = async (offset: number, length: number) => data.subarray(offset, offset + length);
  const pieces = await hashPieces(data.length, pieceLength, read);
  const manifest: Manifest = createManifest({
    name,
    files: [{ path: name, length: data.length }],
    pieceLength,
    pieces,
  });
  const infoHash = await infoHashOf(manifest);
  noteShare(infoHash);
  return {
    manifest,
    infoHash,
    store: new ReaderPieceStore(manifest, read),
    have: Bitfield.full(pieces.length),
  };
}
