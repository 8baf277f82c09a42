/** The page's handle on its worker (hash-worker.ts): one request at a time per call, answered by id. */
import type { PieceStorage, WorkerReply, WorkerRequest } from './worker-protocol.js';

type Pending = {
  onProgress: ((done: number, total: number) => void) | undefined;
  resolve: (reply: WorkerReply) => void;
  reject: (err: Error) => void;
};

/** Distributes a request without its id over the union. */
type Job = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** Error raised in the worker, keeping its DOMException name (e.g. `QuotaExceededError`). */
export class WorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class WorkerClient {
  #worker: Worker | null = null;
  #nextId = 1;
  #pending = new Map<number, Pending>();

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module', name: 'ringswarm' });
    worker.addEventListener('message', (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      if (reply.type === 'progress') {
        pending.onProgress?.(reply.done, reply.total);
        return;
      }
      this.#pending.delete(reply.id);
      if (reply.type === 'failed') pending.reject(new WorkerError(reply.name, reply.message));
      else pending.resolve(reply);
    });
    worker.addEventListener('error', (event) => {
      const err = new Error(`worker failed: ${event.message}`);
      for (const pending of this.#pending.values()) pending.reject(err);
      this.#pending.clear();
    });
    this.#worker = worker;
    return worker;
  }

  #call(job: Job, onProgress?: (done: number, total: number) => void, transfer: Transferable[] = []) {
    const id = this.#nextId++;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { onProgress, resolve, reject });
      this.#start().postMessage({ ...job, id }, transfer);
    });
  }

  /** SHA-256 of every piece of `files` laid end to end. */
  async hash(files: File[], pieceLength: number, onProgress: (done: number, total: number) => void): Promise<string[]> {
    const reply = await this.#call({ type: 'hash', files, pieceLength }, onProgress);
    if (reply.type !== 'hashed') throw new Error(`unexpected worker reply ${reply.type}`);
    return reply.pieces;
  }

  /** Indexes of the pieces kept (in OPFS or IndexedDB) for `infoHash` that still match their hashes. */
  async verify(
    infoHash: string,
    manifest: { pieces: string[]; pieceLength: number; length: number },
    onProgress: (done: number, total: number) => void,
    storage: PieceStorage = 'opfs',
  ): Promise<number[]> {
    const { pieces, pieceLength, length } = manifest;
    const reply = await this.#call({ type: 'verify', storage, infoHash, pieces, pieceLength, length }, onProgress);
    if (reply.type !== 'verified') throw new Error(`unexpected worker reply ${reply.type}`);
    return reply.indexes;
  }

  /** Writes a file of a download folder through a sync access handle (the data is copied). */
  async write(infoHash: string, name: string, data: Uint8Array): Promise<void> {
    const reply = await this.#call({ type: 'write', infoHash, name, data });
    if (reply.type !== 'written') throw new Error(`unexpected worker reply ${reply.type}`);
  }

  destroy(): void {
    this.#worker?.terminate();
    this.#worker = null;
    for (const pending of this.#pending.values()) pending.reject(new Error('worker stopped'));
    this.#pending.clear();
  }
}

/** The page's one worker. */
export const worker = new WorkerClient();
