import { randomBytes } from 'node:crypto';
import {
  open as fsOpen,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsPieceStore, MAX_OPEN_FILES, type OpenFile } from '@ringswarm/cli';
import { createManifest, hashPieces, type Manifest, pieceSize, sha256Hex, verifyStoredPieces } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { sha } from '../helpers/sha.js';

const PIECE = 16 * 1024;

/** Three files whose boundaries fall inside pieces, and one empty file. */
async function folder() {
  const files = [
    { path: 'set/a.bin', data: new Uint8Array(randomBytes(PIECE + 1000)) },
    { path: 'set/empty.txt', data: new Uint8Array(0) },
    { path: 'set/sub/b.bin', data: new Uint8Array(randomBytes(10)) },
    { path: 'set/sub/c.bin', data: new Uint8Array(randomBytes(2 * PIECE + 77)) },
  ];
  const whole = Buffer.concat(files.map((f) => f.data));
  const manifest: Manifest = createManifest({
    name: 'set',
    files: files.map((f) => ({ path: f.path, length: f.data.length })),
    pieceLength: PIECE,
    pieces: await hashPieces(whole.length, PIECE, async (o, n) => whole.subarray(o, o + n)),
  });
  return { files, whole, manifest };
}

describe('FsPieceStore', () => {
  const dirs: string[] = [];
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'ringswarm-fs-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('writes pieces across file boundaries into the real files, in any order', async () => {
    const { files, whole, manifest } = await folder();
    const dir = await tmp();
    const store = new FsPieceStore(manifest, { dir });
    const order = manifest.pieces.map((_, i) => i).reverse();
    for (const i of order) {
      const start = i * PIECE;
      await store.write(i, whole.subarray(start, start + pieceSize(manifest, i)));
    }
    // Reads of ranges that straddle files come back right.
    expect(sha(await store.read(0, PIECE - 8, 8))).toBe(sha(whole.subarray(PIECE - 8, PIECE)));
    expect(sha(await store.read(1, 990, 40))).toBe(sha(whole.subarray(PIECE + 990, PIECE + 1030)));
    store.destroy();
    for (const f of files) expect(sha(await readFile(join(dir, f.path)))).toBe(sha(f.data));
    await expect(store.read(0, 0, 1)).rejects.toThrow(/destroyed/);
  });

  it('finds which pieces are already on disk, so a download resumes', async () => {
    const { files, manifest } = await folder();
    const dir = await tmp();
    // Only the first file is there, and one byte of it is wrong.
    const damaged = files[0]!.data.slice();
    damaged[5]! ^= 1;
    await mkdir(join(dir, 'set'), { recursive: true });
    await writeFile(join(dir, files[0]!.path), damaged);
    const first = new FsPieceStore(manifest, { dir, mode: 'read' });
    const have = await verifyStoredPieces(manifest, first, { hash: sha256Hex });
    first.destroy();
    // Piece 0 is inside the damaged file; piece 1 needs files that do not exist yet.
    expect(have.count).toBe(0);

    await writeFile(join(dir, files[0]!.path), files[0]!.data);
    const second = new FsPieceStore(manifest, { dir, mode: 'read' });
    const again = await verifyStoredPieces(manifest, second, { hash: sha256Hex });
    second.destroy();
    expect([again.has(0), again.has(1)]).toEqual([true, false]);
  });

  it('refuses ranges outside a piece', async () => {
    const { manifest } = await folder();
    const store = new FsPieceStore(manifest, { dir: await tmp() });
    await expect(store.read(99, 0, 1)).rejects.toThrow(RangeError);
    await expect(store.read(0, PIECE - 1, 2)).rejects.toThrow(RangeError);
    await expect(store.write(0, new Uint8Array(PIECE + 1))).rejects.toThrow(RangeError);
    store.destroy();
  });
});

describe('FsPieceStore never writes where it must not', () => {
  const dirs: string[] = [];
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'ringswarm-fs-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('refuses a symbolic link at a file, writes nothing through it, and says which path', async () => {
    const { whole, manifest } = await folder();
    const root = await tmp();
    const out = join(root, 'out');
    const outside = join(root, 'outside.bin');
    await writeFile(outside, 'precious');
    await mkdir(join(out, 'set'), { recursive: true });
    await symlink(outside, join(out, 'set', 'a.bin'));
    const store = new FsPieceStore(manifest, { dir: out });
    const error = await store.write(0, whole.subarray(0, PIECE)).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERR_UNSAFE_PATH',
      message: expect.stringContaining(join(out, 'set', 'a.bin')),
    });
    await expect(store.prepareAll()).rejects.toMatchObject({ code: 'ERR_UNSAFE_PATH' });
    store.destroy();
    expect(await readFile(outside, 'utf8')).toBe('precious');
  });

  it('refuses a dangling symbolic link at a file: nothing is created where it points', async () => {
    const { manifest } = await folder();
    const root = await tmp();
    const out = join(root, 'out');
    await mkdir(join(out, 'set'), { recursive: true });
    await symlink(join(root, 'planted.bin'), join(out, 'set', 'a.bin'));
    const store = new FsPieceStore(manifest, { dir: out });
    await expect(store.prepareAll()).rejects.toMatchObject({ code: 'ERR_UNSAFE_PATH' });
    store.destroy();
    await expect(lstat(join(root, 'planted.bin'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses a symbolic link as a parent folder, writing nothing outside', async () => {
    const { whole, manifest } = await folder();
    const root = await tmp();
    const out = join(root, 'out');
    const elsewhere = join(root, 'elsewhere');
    await mkdir(elsewhere);
    await mkdir(join(out, 'set'), { recursive: true });
    await symlink(elsewhere, join(out, 'set', 'sub'));
    const store = new FsPieceStore(manifest, { dir: out });
    // The last piece lies in set/sub/c.bin only.
    const last = manifest.pieces.length - 1;
    const error = await store.write(last, whole.subarray(last * PIECE)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_UNSAFE_PATH', message: expect.stringContaining(join(out, 'set', 'sub')) });
    store.destroy();
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('cuts a longer existing file and extends a shorter one to the declared length', async () => {
    const { files, manifest } = await folder();
    const dir = await tmp();
    await mkdir(join(dir, 'set', 'sub'), { recursive: true });
    await writeFile(join(dir, 'set', 'sub', 'b.bin'), new Uint8Array(100).fill(7));
    await writeFile(join(dir, 'set', 'a.bin'), new Uint8Array(5).fill(7));
    await writeFile(join(dir, 'set', 'empty.txt'), 'not empty');
    const store = new FsPieceStore(manifest, { dir });
    const existed = await store.prepareAll();
    store.destroy();
    expect(existed).toEqual([0, 1, 2]);
    for (const f of files) expect((await stat(join(dir, f.path))).size).toBe(f.data.length);
  });

  it('keeps at most its cap of files open (64 by default), closes them on destroy, and reopens evicted ones', async () => {
    const cap = 16;
    const count = 200;
    const files = Array.from({ length: count }, (_, i) => ({
      path: `many/f${i}.bin`,
      data: new Uint8Array(randomBytes(700)),
    }));
    const whole = Buffer.concat(files.map((f) => f.data));
    const manifest = createManifest({
      name: 'many',
      files: files.map((f) => ({ path: f.path, length: f.data.length })),
      pieceLength: PIECE,
      pieces: await hashPieces(whole.length, PIECE, async (o, n) => whole.subarray(o, o + n)),
    });
    const dir = await tmp();
    let open = 0;
    let most = 0;
    let opened = 0;
    const counting: OpenFile = async (path, flags, mode) => {
      const handle = await fsOpen(path, flags, mode);
      open++;
      opened++;
      most = Math.max(most, open);
      const close = handle.close.bind(handle);
      handle.close = async () => {
        open--;
        await close();
      };
      return handle;
    };
    // The process's own descriptors (Linux), counted too: they cannot miss an open the store made some other way.
    const descriptors = async () => (await readdir('/proc/self/fd')).length;
    const before = await descriptors();
    const store = new FsPieceStore(manifest, { dir, open: counting, maxOpenFiles: cap });
    // Every piece written at once, then read back: each spans many small files.
    await Promise.all(
      manifest.pieces.map((_, i) => store.write(i, whole.subarray(i * PIECE, i * PIECE + pieceSize(manifest, i)))),
    );
    const have = await verifyStoredPieces(manifest, store, { hash: sha256Hex });
    expect(have.complete).toBe(true);
    expect((await descriptors()) - before).toBeLessThanOrEqual(cap);
    expect(most).toBeLessThanOrEqual(cap);
    expect(store.openFiles).toBeLessThanOrEqual(cap);
    // Files were closed and opened again, not kept open.
    expect(opened).toBeGreaterThan(count);
    store.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(open).toBe(0);
    for (const f of files) expect(sha(await readFile(join(dir, f.path)))).toBe(sha(f.data));
    expect(MAX_OPEN_FILES).toBe(64);
  });

  it('reopens an evicted file without following a link planted in its place', async () => {
    const { whole, manifest } = await folder();
    const root = await tmp();
    const out = join(root, 'out');
    const outside = join(root, 'outside.bin');
    await writeFile(outside, 'precious');
    const store = new FsPieceStore(manifest, { dir: out, maxOpenFiles: 1 });
    await store.prepareAll();
    // Opening the other files evicted set/a.bin; now a link takes its place.
    await rm(join(out, 'set', 'a.bin'));
    await symlink(outside, join(out, 'set', 'a.bin'));
    await expect(store.write(0, whole.subarray(0, PIECE))).rejects.toMatchObject({ code: 'ERR_UNSAFE_PATH' });
    store.destroy();
    expect(await readFile(outside, 'utf8')).toBe('precious');
  });
});
