/**
 * Pieces of a download kept in the origin private file system (OPFS), one file per piece,
 * in `downloads/<infohash>/`, beside the verified manifest (`manifest.json`). Nothing is
 * held in the JS heap but a few recently read pieces for peers that ask for blocks.
 *
 * A piece file is written only after the engine has verified the piece; on resume every
 * piece file is hashed again (hash-worker.ts) before it counts, so a file cut short by a
 * closed tab is simply fetched again.
 */
import { encodeManifest, loadVerifiedManifest, type Manifest } from '@ringswarm/shared';
import { KeptPieceStore } from './store-common.js';
import { worker } from './worker-client.js';
import { DOWNLOADS_DIR, pieceFileName } from './worker-protocol.js';

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

export class OpfsPieceStore extends KeptPieceStore<File> {
  readonly #dir: FileSystemDirectoryHandle;

  private constructor(infoHash: string, dir: FileSystemDirectoryHandle) {
    super(infoHash);
    this.#dir = dir;
  }

  /** Opens (creating if needed) the folder of one download. */
  static async open(infoHash: string): Promise<OpfsPieceStore> {
    const dir = await (await downloadsDir()).getDirectoryHandle(infoHash, { create: true });
    return new OpfsPieceStore(infoHash, dir);
  }

  protected async storePiece(index: number, data: Uint8Array): Promise<void> {
    if (canWriteHere()) await writeFile(this.#dir, pieceFileName(index), data);
    else await worker.write(this.infoHash, pieceFileName(index), data);
  }

  /** A snapshot of the piece's file, taken once it is written. */
  protected async findPiece(index: number): Promise<File> {
    return (await this.#dir.getFileHandle(pieceFileName(index))).getFile();
  }
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
