/**
 * Pieces of a download kept in the origin private file system (OPFS), one file per piece,
 * in `downloads/<infohash>/`, beside the verified manifest (`manifest.json`). Nothing is
 * held in the JS heap but a few recently read pieces for peers that ask for blocks.
 *
 * A piece file is written only after the engine has verified the piece; on resume every
 * piece file is hashed again (hash-worker.ts) before it counts, so a file cut short by a
 * closed tab is simply fetched again.
 */
import { encodeManifest, loadVerifiedManifest, type Manifest, type PieceStore } from '@ringswarm/shared';
import { worker } from './worker-client.js';
import { DOWNLOADS_DIR, pieceFileName } from './worker-protocol.js';

/** Whole pieces kept for answering block requests (peers ask 16 KiB at a time, mostly in order). */
export const READ_CACHE_PIECES = 4;
const MANIFEST_FILE = 'manifest.json';

/** True when this browser offers the origin private file system. */
export function opfsAvailable(): boolean {
  return typeof navigator.storage?.getDirectory === 'function';
}

/** Main-thread writes need `createWritable` (Chromium, Firefox); Safari writes through the worker. */
const canWriteHere = (): boolean =>
  typeof FileSystemFileHandle !== 'undefined' && 'createWritable' in FileSystemFileHandle.prototype;

async function downloadsDir(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle(DOWNLOADS_DIR, { create: true });
}

async function writeFile(dir: FileSystemDirectoryHandle, name: string, data: Uint8Array | string): Promise<void> {
  const handle = await dir.getFileHandle(name, { create: true });
  const writable = await handle.createWritable();
  try {
    await writable.write(data as Uint8Array<ArrayBuffer> | string);
    await writable.close();
  } catch (err) {
    await writable.abort().catch(() => {});
    throw err;
  }
}

export class OpfsPieceStore implements PieceStore {
  readonly infoHash: string;
  readonly #dir: FileSystemDirectoryHandle;
  /** Piece index -> a snapshot of its file, taken once it is written (pieces never change). */
  #files = new Map<number, File>();
  /** Recently read whole pieces, least recently used first. */
  #cache = new Map<number, Promise<Uint8Array>>();
  #destroyed = false;
  /** The last storage failure, kept so the page can tell a full disk from other errors. */
  lastError: Error | null = null;

  private constructor(infoHash: string, dir: FileSystemDirectoryHandle) {
    this.infoHash = infoHash;
    this.#dir = dir;
  }

  /** Opens (creating if needed) the folder of one download. */
  static async open(infoHash: string): Promise<OpfsPieceStore> {
    const dir = await (await downloadsDir()).getDirectoryHandle(infoHash, { create: true });
    return new OpfsPieceStore(infoHash, dir);
  }

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    if (this.#destroyed) throw new Error('store destroyed');
    let piece = this.#cache.get(index);
    if (piece) {
      this.#cache.delete(index); // re-inserted below as most recently used
    } else {
      piece = this.file(index).then(async (f) => new Uint8Array(await f.arrayBuffer()));
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
      if (canWriteHere()) await writeFile(this.#dir, pieceFileName(index), data);
      else await worker.write(this.infoHash, pieceFileName(index), data);
    } catch (err) {
      this.lastError = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
    // A piece written again must not be answered from the old snapshot or cache.
    this.#files.delete(index);
    this.#cache.delete(index);
  }

  /** The file of a stored piece (a disk-backed Blob: slicing or saving it does not load it). */
  async file(index: number): Promise<File> {
    let file = this.#files.get(index);
    if (!file) {
      file = await (await this.#dir.getFileHandle(pieceFileName(index))).getFile();
      this.#files.set(index, file);
    }
    return file;
  }

  /**
   * One file of the download as a Blob made of slices of the piece files: the browser streams
   * it from disk when it is saved. Every piece the file touches must be stored.
   */
  async fileBlob(manifest: Manifest, fileIndex: number): Promise<Blob> {
    const { start, end } = fileRange(manifest, fileIndex);
    const parts: Blob[] = [];
    for (let index = Math.floor(start / manifest.pieceLength); index * manifest.pieceLength < end; index++) {
      const pieceStart = index * manifest.pieceLength;
      const file = await this.file(index);
      parts.push(file.slice(Math.max(0, start - pieceStart), Math.min(file.size, end - pieceStart)));
    }
    return new Blob(parts, { type: 'application/octet-stream' });
  }

  /** Releases cached pieces; the files stay for a later resume (see {@link removeDownload}). */
  destroy(): void {
    this.#destroyed = true;
    this.#cache.clear();
    this.#files.clear();
  }
}

/** Byte range of file `fileIndex` within the concatenated download. */
export function fileRange(manifest: Manifest, fileIndex: number): { start: number; end: number } {
  let start = 0;
  for (let i = 0; i < fileIndex; i++) start += manifest.files[i]!.length;
  return { start, end: start + manifest.files[fileIndex]!.length };
}

/** Pieces that file `fileIndex` touches: [first, last], or null for an empty file. */
export function filePieces(manifest: Manifest, fileIndex: number): { first: number; last: number } | null {
  const { start, end } = fileRange(manifest, fileIndex);
  if (end === start) return null;
  return { first: Math.floor(start / manifest.pieceLength), last: Math.floor((end - 1) / manifest.pieceLength) };
}

/** Keeps the verified manifest of a download, for resuming after a reload. */
export async function saveManifest(infoHash: string, manifest: Manifest): Promise<void> {
  const dir = await (await downloadsDir()).getDirectoryHandle(infoHash, { create: true });
  const encoded = encodeManifest(manifest);
  if (canWriteHere()) await writeFile(dir, MANIFEST_FILE, encoded);
  else await worker.write(infoHash, MANIFEST_FILE, encoded);
}

/**
 * The manifest kept for `infoHash`, or null when there is none. It is checked like one
 * fetched from a peer: it must decode and hash to the infohash.
 */
export async function loadManifest(infoHash: string): Promise<Manifest | null> {
  try {
    const dir = await (await downloadsDir()).getDirectoryHandle(infoHash);
    const file = await (await dir.getFileHandle(MANIFEST_FILE)).getFile();
    return await loadVerifiedManifest(new Uint8Array(await file.arrayBuffer()), infoHash);
  } catch {
    return null;
  }
}

/** Deletes everything kept for a download. */
export async function removeDownload(infoHash: string): Promise<void> {
  await (await downloadsDir()).removeEntry(infoHash, { recursive: true }).catch(() => {});
}
