import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsPieceStore } from '@ringswarm/cli';
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
    const have = await verifyStoredPieces(manifest, new FsPieceStore(manifest, { dir, mode: 'read' }), {
      hash: sha256Hex,
    });
    // Piece 0 is inside the damaged file; piece 1 needs files that do not exist yet.
    expect(have.count).toBe(0);

    await writeFile(join(dir, files[0]!.path), files[0]!.data);
    const again = await verifyStoredPieces(manifest, new FsPieceStore(manifest, { dir, mode: 'read' }), {
      hash: sha256Hex,
    });
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
