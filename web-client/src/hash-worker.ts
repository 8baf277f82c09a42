/**
 * The page's worker: hashes files being shared, re-verifies pieces kept in OPFS when a
 * download resumes, and writes piece files where the main thread cannot. Hashing a 1 GiB
 * file here keeps the page responsive; the bytes are read chunk by chunk, never whole.
 */
import { filesReader } from './files-reader.js';
import { DOWNLOADS_DIR, pieceFileName, type WorkerReply, type WorkerRequest } from './worker-protocol.js';

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

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  let out = '';
  for (const b of digest) out += HEX[b];
  return out;
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

async function verify(
  id: number,
  infoHash: string,
  pieces: string[],
  pieceLength: number,
  length: number,
): Promise<number[]> {
  const dir = await downloadDir(infoHash);
  const report = progress(id);
  const good: number[] = [];
  for (let index = 0; index < pieces.length; index++) {
    report(index, pieces.length);
    let file: File;
    try {
      file = await (await dir.getFileHandle(pieceFileName(index))).getFile();
    } catch {
      continue; // not downloaded yet
    }
    const size = Math.min(pieceLength, length - index * pieceLength);
    const ok = file.size === size && (await sha256Hex(new Uint8Array(await file.arrayBuffer()))) === pieces[index];
    if (ok) good.push(index);
    else await dir.removeEntry(pieceFileName(index)).catch(() => {});
  }
  report(pieces.length, pieces.length);
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
          indexes: await verify(request.id, request.infoHash, request.pieces, request.pieceLength, request.length),
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
