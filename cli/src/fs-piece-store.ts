/**
 * Pieces stored straight into the files they belong to, under one folder: a download ends
 * as the real files, and seeding reads from them. A piece may span several files.
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { Manifest, PieceStore } from '@ringswarm/shared';
import { pieceSize } from '@ringswarm/shared';

/** What the store needs of a manifest: the files and how pieces cut them. */
export type FileLayout = Pick<Manifest, 'files' | 'pieceLength' | 'length'>;

interface Span {
  file: number;
  /** Offset inside the file. */
  offset: number;
  length: number;
  /** Offset inside the requested range. */
  at: number;
}

export interface FsPieceStoreOptions {
  /** Folder the files live in (created as needed); each file is at dir/path. */
  dir: string;
  /** 'write' (the default) creates missing files; 'read' only opens existing ones. */
  mode?: 'read' | 'write';
  /**
   * Where each file really is, when that is not dir/path (seeding files whose names were
   * made safe for the manifest).
   */
  diskPaths?: string[];
}

export class FsPieceStore implements PieceStore {
  readonly #paths: string[];
  readonly #starts: number[];
  readonly #handles = new Map<number, Promise<FileHandle>>();
  #emptyFilesMade: Promise<void> | null = null;
  #destroyed = false;

  readonly dir: string;
  readonly mode: 'read' | 'write';

  /** @param manifest names and sizes of the files (a whole manifest, or just its layout) */
  constructor(
    readonly manifest: FileLayout,
    options: FsPieceStoreOptions,
  ) {
    const { dir, mode = 'write', diskPaths } = options;
    this.dir = dir;
    this.mode = mode;
    const root = resolve(dir);
    if (diskPaths && diskPaths.length !== manifest.files.length) throw new RangeError('one disk path per file');
    this.#paths =
      diskPaths ??
      manifest.files.map((f) => {
        const full = resolve(root, f.path);
        // The manifest already refuses "..", absolute paths and the like; this is the last guard.
        if (!full.startsWith(root + sep)) throw new RangeError(`file path escapes the folder: ${f.path}`);
        return full;
      });
    let start = 0;
    this.#starts = manifest.files.map((f) => {
      const s = start;
      start += f.length;
      return s;
    });
  }

  async read(index: number, begin: number, length: number): Promise<Uint8Array> {
    this.#checkPieceRange(index, begin, length);
    return this.readRange(index * this.manifest.pieceLength + begin, length);
  }

  /** Reads `length` bytes at `offset` of the files taken end to end (a ByteReader). */
  async readRange(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.manifest.length) {
      throw new RangeError(`range ${offset}+${length} is outside the files`);
    }
    const out = new Uint8Array(length);
    for (const span of this.#spans(offset, length)) {
      const handle = await this.#handle(span.file);
      const { bytesRead } = await handle.read(out, span.at, span.length, span.offset);
      if (bytesRead !== span.length) throw new RangeError(`short read from ${this.#paths[span.file]}`);
    }
    return out;
  }

  async write(index: number, data: Uint8Array): Promise<void> {
    if (this.mode === 'read') throw new Error('store is read-only');
    // Zero-length files hold no piece bytes, so no write would ever create them.
    this.#emptyFilesMade ??= Promise.all(
      this.manifest.files.flatMap((f, i) => (f.length === 0 ? [this.#handle(i)] : [])),
    ).then(() => {});
    await this.#emptyFilesMade;
    this.#checkPieceRange(index, 0, data.length);
    for (const span of this.#spans(index * this.manifest.pieceLength, data.length)) {
      const handle = await this.#handle(span.file);
      await handle.write(data, span.at, span.length, span.offset);
    }
  }

  /** Closes the open files. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const h of this.#handles.values()) void h.then((fh) => fh.close()).catch(() => {});
    this.#handles.clear();
  }

  #checkPieceRange(index: number, begin: number, length: number): void {
    const size = pieceSize(this.manifest, index);
    if (!Number.isInteger(index) || index < 0 || begin < 0 || begin + length > size) {
      throw new RangeError(`piece ${index} [${begin}+${length}] out of range`);
    }
  }

  /** Maps a range of the files taken end to end onto the files it covers. */
  #spans(start: number, length: number): Span[] {
    let pos = start;
    const end = pos + length;
    const spans: Span[] = [];
    for (let f = 0; f < this.manifest.files.length && pos < end; f++) {
      const fileStart = this.#starts[f]!;
      const fileEnd = fileStart + this.manifest.files[f]!.length;
      if (pos >= fileEnd) continue;
      const n = Math.min(end, fileEnd) - pos;
      spans.push({
        file: f,
        offset: pos - fileStart,
        length: n,
        at: pos - start,
      });
      pos += n;
    }
    return spans;
  }

  #handle(file: number): Promise<FileHandle> {
    if (this.#destroyed) return Promise.reject(new Error('store destroyed'));
    let handle = this.#handles.get(file);
    if (!handle) {
      const path = this.#paths[file]!;
      handle =
        this.mode === 'read'
          ? open(path, 'r')
          : mkdir(dirname(path), { recursive: true }).then(async () => {
              // 'r+' keeps existing bytes (resume); create the file only if it is missing.
              try {
                return await open(path, 'r+');
              } catch {
                return await open(path, 'w+');
              }
            });
      this.#handles.set(file, handle);
    }
    return handle;
  }
}
