/**
 * The page's worker: hashes files being shared, re-verifies pieces kept in OPFS or IndexedDB
 * when a download resumes, and writes piece files where the main thread cannot. Hashing a
 * 1 GiB file here keeps the page responsive; the bytes are read chunk by chunk, never whole.
 * SHA-256 is the engine's own (WebCrypto, or hash-wasm on a page without `crypto.subtle`).
 */
import { sha256Hex } from '@ringswarm/shared/bytes';
import { filesReader } from './files-reader.js';
import { idbDelete, idbGet, PIECES, storedPieceIndexes } from './idb.js';
import {
  DOWNLOADS_DIR,
  type PieceStorage,
  pieceFileName,
  type WorkerReply,
  type WorkerRequest,
} from './worker-protocol.js';

/** Bytes read from the files per step while hashing (several pieces when pieces are small). */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Progress messages are sent at most this often. */
const PROGRESS_INTERVAL_MS = 100;

/** The worker's side of its port, typed as the page sees a Worker (postMessage, onmessage). */
const port = globalThis as unknown as Pick<Worker, 'postMessage' | 'addEventListener'>;

/** `createSyncAccessHandle` is only in the worker typings; the page is compiled against the DOM's. */
interface SyncAccessHandle {
  write(data: Uint8Array, options?: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

function reply(message: WorkerReply): void {
  port.postMessage(message);
}

function progress(id: number): (done: number, total: number) => void {
  let last = 0;
  return (done, total) => {
    const now = performance.now();
    if (done !== total && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    reply({ id, type: 'progress', done, total });
  };
}

async function hash(id: number, files: File[], pieceLength: number): Promise<string[]> {
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const count = Math.ceil(total / pieceLength);
  const chunkBytes = Math.max(pieceLength, READ_CHUNK_BYTES);
  const report = progress(id);
  const read = filesReader(files);
  const pieces: string[] = [];
  for (let offset = 0; offset < total; offset += chunkBytes) {
    const chunk = await read(offset, Math.min(chunkBytes, total - offset));
    for (let begin = 0; begin < chunk.length; begin += pieceLength) {
      pieces.push(await sha256Hex(chunk.subarray(begin, Math.min(chunk.length, begin + pieceLength))));
    }
    report(pieces.length, count);
  }
  report(count, count);
  return pieces;
}

async function downloadDir(infoHash: string): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  const downloads = await root.getDirectoryHandle(DOWNLOADS_DIR, { create: true });
  return downloads.getDirectoryHandle(infoHash, { create: true });
}

/** Reading and dropping the kept pieces of one download, wherever they are kept. */
interface KeptPieces {
  /** The piece's bytes, or null when it is not kept. */
  read(index: number): Promise<Uint8Array | null>;
  remove(index: number): Promise<void>;
  /** Indexes worth reading (a superset of those kept). */
  indexes(count: number): Promise<number[]>;
}

async function opfsPieces(infoHash: string): Promise<KeptPieces> {
  const dir = await downloadDir(infoHash);
  return {
    read: async (index) => {
      try {
        const file = await (await dir.getFileHandle(pieceFileName(index))).getFile();
        return new Uint8Array(await file.arrayBuffer());
      } catch {
        return null; // not downloaded yet
      }
    },
    remove: (index) => dir.removeEntry(pieceFileName(index)).catch(() => {}),
    indexes: async (count) => Array.from({ length: count }, (_, i) => i),
  };
}

function idbPieces(infoHash: string): KeptPieces {
  return {
    read: async (index) => {
      const value = await idbGet(PIECES, [infoHash, index]);
      return value instanceof Blob ? new Uint8Array(await value.arrayBuffer()) : null;
    },
    remove: (index) => idbDelete(PIECES, [infoHash, index]).catch(() => {}),
    indexes: async (count) => (await storedPieceIndexes(infoHash)).filter((i) => i < count),
  };
}

async function verify(
  id: number,
  storage: PieceStorage,
  infoHash: string,
  pieces: string[],
  pieceLength: number,
  length: number,
): Promise<number[]> {
  const kept = storage === 'opfs' ? await opfsPieces(infoHash) : idbPieces(infoHash);
  const report = progress(id);
  const good: number[] = [];
  const indexes = await kept.indexes(pieces.length);
  for (const [done, index] of indexes.entries()) {
    report(done, indexes.length);
    const bytes = await kept.read(index);
    if (bytes === null) continue;
    const size = Math.min(pieceLength, length - index * pieceLength);
    const ok = bytes.length === size && (await sha256Hex(bytes)) === pieces[index];
    if (ok) good.push(index);
    else await kept.remove(index);
  }
  report(indexes.length, indexes.length);
  return good;
}

async function write(infoHash: string, name: string, data: Uint8Array): Promise<void> {
  const dir = await downloadDir(infoHash);
  // A tab closed mid-write can leave a short or partial piece file: the hash check on resume
  // removes it.
  const handle = await dir.getFileHandle(name, { create: true });
  const access = await (
    handle as unknown as { createSyncAccessHandle(): Promise<SyncAccessHandle> }
  ).createSyncAccessHandle();
  try {
    access.truncate(0);
    access.write(data, { at: 0 });
    access.flush();
  } finally {
    access.close();
  }
}

port.addEventListener('message', (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  const run = async (): Promise<WorkerReply> => {
    switch (request.type) {
      case 'hash':
        return { id: request.id, type: 'hashed', pieces: await hash(request.id, request.files, request.pieceLength) };
      case 'verify':
        return {
          id: request.id,
          type: 'verified',
          indexes: await verify(
            request.id,
            request.storage,
            request.infoHash,
            request.pieces,
            request.pieceLength,
            request.length,
          ),
        };
      case 'write':
        await write(request.infoHash, request.name, request.data);
        return { id: request.id, type: 'written' };
    }
  };
  run().then(reply, (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ id: request.id, type: 'failed', name: e.name, message: e.message });
  });
});
