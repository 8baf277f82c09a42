/** Turns a picked File into what a seeder needs: manifest, read-only store, full bitfield. */
import {
  Bitfield,
  type ByteReader,
  choosePieceLength,
  createManifest,
  hashPieces,
  type Manifest,
  ReaderPieceStore,
  readAhead,
  toSafeSegment,
} from '@ringswarm/shared';

export interface Prepared {
  manifest: Manifest;
  store: ReaderPieceStore;
  have: Bitfield;
}

/** Reads byte ranges of a File without loading the whole file. */
export function fileReader(file: Blob): ByteReader {
  return async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
}

export async function prepareFile(file: File, onProgress: (done: number, total: number) => void): Promise<Prepared> {
  const pieceLength = choosePieceLength(file.size);
  const read = fileReader(file);
  const pieces = await hashPieces(file.size, pieceLength, read, onProgress);
  const name = toSafeSegment(file.name);
  const manifest = createManifest({ name, files: [{ path: name, length: file.size }], pieceLength, pieces });
  // Peers ask for 16 KiB blocks, mostly in file order: read a megabyte at a time.
  const store = new ReaderPieceStore(manifest, readAhead(read, file.size));
  return { manifest, store, have: Bitfield.full(pieces.length) };
}
