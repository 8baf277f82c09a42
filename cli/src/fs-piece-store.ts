/**
 * Pieces stored straight into the files they belong to, under one folder: a download ends
 * as the real files, and seeding reads from them. A piece may span several files.
 *
 * Names come from peers, and the folder may hold anything, so in 'write' mode nothing is
 * written through a symbolic link: every folder between the download folder and a file is
 * checked with lstat (and created when missing), the file itself is opened with O_NOFOLLOW,
 * new files are created exclusively, and every file is cut or extended to its declared
 * length. At most {@link MAX_OPEN_FILES} files are open at once.
 */
import { constants, type FileHandle, lstat, mkdir, open } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Manifest, PieceStore } from '@ringswarm/shared';
import { ErrorCode, pieceSize, RingswarmError } from '@ringswarm/shared';

/** What the store needs of a manifest: the files and how pieces cut them. */
export type FileLayout = Pick<Manifest, 'files' | 'pieceLength' | 'length'>;

/** Most files a store keeps open; the least recently used one is closed to open another. */
export const MAX_OPEN_FILES = 64;

/** Opens a file (node:fs/promises `open`); injectable so tests can count open handles. */
export type OpenFile = (path: string, flags: number, mode?: number) => Promise<FileHandle>;

/** O_NOFOLLOW where the platform has it (not on Windows, where 0 leaves the flags as they are). */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
/** Mode of files the store creates (before the umask). */
const FILE_MODE = 0o666;

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
  /** Most files open at once. Default {@link MAX_OPEN_FILES}. */
  maxOpenFiles?: number;
  /** Default node:fs/promises `open`. */
  open?: OpenFile;
}

/** An open (or opening) file, and the reads and writes still using it. */
interface OpenEntry {
  handle: Promise<FileHandle>;
  users: number;
}

/** Error code of a failed fs call, if any. */
const codeOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;

export class FsPieceStore implements PieceStore {
  /** Each file's manifest path split into segments below the folder ('write' mode), or null for diskPaths. */
  readonly #segments: string[][] | null;
  readonly #paths: string[];
  readonly #starts: number[];
  /** Open files, least recently used first. */
  readonly #open = new Map<number, OpenEntry>();
  /** Files whose path was checked and whose length was set ('write' mode): true when it was there before. */
  readonly #existed = new Map<number, boolean>();
  /** Closes of evicted files, waited for before a file is opened again. */
  readonly #closing = new Map<number, Promise<void>>();
  /** Opens waiting for a free slot. */
  readonly #waiters: (() => void)[] = [];
  readonly #maxOpen: number;
  readonly #openFile: OpenFile;
  #emptyFilesMade: Promise<void> | null = null;
  #destroyed = false;

  readonly dir: string;
  readonly mode: 'read' | 'write';

  /** @param manifest names and sizes of the files (a whole manifest, or just its layout) */
  constructor(
    readonly manifest: FileLayout,
    options: FsPieceStoreOptions,
  ) {
    const { dir, mode = 'write', diskPaths, maxOpenFiles = MAX_OPEN_FILES } = options;
    if (!Number.isInteger(maxOpenFiles) || maxOpenFiles < 1) throw new RangeError('maxOpenFiles must be at least 1');
    this.dir = dir;
    this.mode = mode;
    this.#maxOpen = maxOpenFiles;
    this.#openFile = options.open ?? open;
    const root = resolve(dir);
    if (diskPaths && diskPaths.length !== manifest.files.length) throw new RangeError('one disk path per file');
    this.#segments = diskPaths ? null : manifest.files.map((f) => f.path.split('/'));
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

  /** Files open right now (at most the cap). */
  get openFiles(): number {
    return this.#open.size;
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
      const { bytesRead } = await this.#using(span.file, (h) => h.read(out, span.at, span.length, span.offset));
      if (bytesRead !== span.length) throw new RangeError(`short read from ${this.#paths[span.file]}`);
    }
    return out;
  }

  async write(index: number, data: Uint8Array): Promise<void> {
    if (this.mode === 'read') throw new Error('store is read-only');
    // Zero-length files hold no piece bytes, so no write would ever create them.
    this.#emptyFilesMade ??= Promise.all(
      this.manifest.files.flatMap((f, i) => (f.length === 0 ? [this.#using(i, async () => {})] : [])),
    ).then(() => {});
    await this.#emptyFilesMade;
    this.#checkPieceRange(index, 0, data.length);
    for (const span of this.#spans(index * this.manifest.pieceLength, data.length)) {
      await this.#using(span.file, (h) => h.write(data, span.at, span.length, span.offset));
    }
  }

  /**
   * 'write' mode: checks every file's path (no symbolic link anywhere beneath the folder),
   * creates the missing files and folders and sets every file to its declared length, before
   * any byte arrives. Resolves with the indexes of the files that were already there (their
   * bytes may hold pieces worth checking). Rejects with `ERR_UNSAFE_PATH` naming the path.
   */
  async prepareAll(): Promise<number[]> {
    if (this.mode === 'read') throw new Error('store is read-only');
    const existed: number[] = [];
    for (let i = 0; i < this.manifest.files.length; i++) {
      await this.#using(i, async () => {});
      if (this.#existed.get(i)) existed.push(i);
    }
    return existed;
  }

  /** Closes the open files. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const entry of this.#open.values()) void entry.handle.then((fh) => fh.close()).catch(() => {});
    this.#open.clear();
    this.#wake();
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

  /** Runs `use` on file `file`'s handle, kept open (and out of eviction) until it settles. */
  async #using<T>(file: number, use: (handle: FileHandle) => Promise<T>): Promise<T> {
    const entry = await this.#entry(file);
    try {
      return await use(await entry.handle);
    } finally {
      entry.users--;
      this.#wake();
    }
  }

  /**
   * The open entry of a file, its user count already raised; opened (again, after eviction)
   * when needed, once a slot is free. Most recently used last.
   */
  async #entry(file: number): Promise<OpenEntry> {
    for (;;) {
      if (this.#destroyed) throw new Error('store destroyed');
      const entry = this.#open.get(file);
      if (entry) {
        entry.users++;
        this.#open.delete(file);
        this.#open.set(file, entry);
        return entry;
      }
      const closing = this.#closing.get(file);
      if (closing) {
        await closing;
        continue;
      }
      // Open and closing handles both hold a descriptor: together they stay within the cap.
      if (this.#open.size + this.#closing.size < this.#maxOpen) break;
      const idle = [...this.#open].find(([, e]) => e.users === 0);
      if (idle) await this.#close(idle[0], idle[1]);
      else await new Promise<void>((wake) => this.#waiters.push(wake));
    }
    const handle = this.mode === 'write' ? this.#openForWrite(file) : this.#openPath(file);
    const entry: OpenEntry = { handle, users: 1 };
    this.#open.set(file, entry);
    handle.catch(() => {
      if (this.#open.get(file) !== entry) return;
      this.#open.delete(file);
      this.#wake();
    });
    return entry;
  }

  /** Closes an idle open file (evicted); resolves once its descriptor is released. */
  #close(file: number, entry: OpenEntry): Promise<void> {
    this.#open.delete(file);
    const closed = entry.handle
      .then((fh) => fh.close())
      .catch(() => {})
      .finally(() => {
        this.#closing.delete(file);
        this.#wake();
      });
    this.#closing.set(file, closed);
    return closed;
  }

  /** Lets every open waiting for a slot look again. */
  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Opens an existing file: read-only in 'read' mode, read-write without following a final symlink in 'write' mode. */
  async #openPath(file: number): Promise<FileHandle> {
    const path = this.#paths[file]!;
    if (this.mode === 'read') return this.#openFile(path, constants.O_RDONLY);
    try {
      return await this.#openFile(path, constants.O_RDWR | NO_FOLLOW);
    } catch (err) {
      // Linux says ELOOP, the BSDs EMLINK, when the last component is a symbolic link.
      if (codeOf(err) === 'ELOOP' || codeOf(err) === 'EMLINK') throw unsafe(path, 'is a symbolic link');
      throw err;
    }
  }

  /**
   * 'write' mode: the first time, checks the file's path, creates it (exclusively) or opens
   * the regular file already there, and sets its length; later (after an eviction), opens it
   * again, still without following a link. A failure is not remembered: the next use checks again.
   */
  async #openForWrite(file: number): Promise<FileHandle> {
    if (this.#existed.has(file)) return this.#openPath(file);
    const segments = this.#segments?.[file];
    const path = this.#paths[file]!;
    const declared = this.manifest.files[file]!.length;
    // The folder itself is the person's choice and may be a link; nothing beneath it may.
    await ensureRealFolder(this.dir, ...(segments ?? []).slice(0, -1));
    let existed = false;
    let handle: FileHandle;
    try {
      handle = await this.#openFile(
        path,
        constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW,
        FILE_MODE,
      );
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
      // Something is there already: only a regular file of our own name is used, never a link.
      const info = await lstat(path);
      if (info.isSymbolicLink()) throw unsafe(path, 'is a symbolic link');
      if (!info.isFile()) throw unsafe(path, 'is not a regular file');
      existed = true;
      handle = await this.#openPath(file);
    }
    try {
      // Never longer than the shared file (a longer one is not it), never shorter (reads stay whole).
      if ((await handle.stat()).size !== declared) await handle.truncate(declared);
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    this.#existed.set(file, existed);
    return handle;
  }
}

/** An `ERR_UNSAFE_PATH` error naming the path. */
function unsafe(path: string, what: string): RingswarmError {
  return new RingswarmError(ErrorCode.UNSAFE_PATH, `refusing to write ${JSON.stringify(path)}: it ${what}`);
}

/** Makes sure `path` is a real folder (not a symbolic link to one), creating it when missing. */
async function ensureFolder(path: string): Promise<void> {
  for (;;) {
    try {
      const info = await lstat(path);
      if (info.isSymbolicLink()) throw unsafe(path, 'is a symbolic link');
      if (!info.isDirectory()) throw unsafe(path, 'is not a folder');
      return;
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err;
    }
    try {
      await mkdir(path);
      return;
    } catch (err) {
      // Made by someone else in between: check what it is.
      if (codeOf(err) !== 'EEXIST') throw err;
    }
  }
}

/**
 * Makes sure `root/segments…` is a chain of real folders beneath `root` (no symbolic link),
 * creating what is missing; `root` itself is created as needed and may be a link.
 */
export async function ensureRealFolder(root: string, ...segments: string[]): Promise<void> {
  let at = resolve(root);
  await mkdir(at, { recursive: true });
  for (const segment of segments) {
    at = join(at, segment);
    await ensureFolder(at);
  }
}
