/** What `ringswarm get` writes under --out: never through a link, never a longer file than the shared one. */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Bitfield,
  encodeManifest,
  type Manifest,
  ReaderPieceStore,
  RingswarmClient,
  sha256Hex,
} from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli-process.js';
import { closeChecked, noteShare } from '../helpers/leak-check.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { wrtc } from '../helpers/wrtc.js';

describe('ringswarm get and the files under --out', () => {
  let server: RunningServer;
  let dir: string;
  const procs: CliProcess[] = [];
  const clients: RingswarmClient[] = [];
  const cli = (args: string[]) => {
    const p = new CliProcess(args);
    procs.push(p);
    return p;
  };
  /** An in-process seeder of `manifest` (which may be one the library would never build). */
  const seedInProcess = async (manifest: Manifest, read: (offset: number, length: number) => Promise<Uint8Array>) => {
    const infoHash = await sha256Hex(encodeManifest(manifest));
    noteShare(infoHash);
    const seeder = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(seeder);
    await seeder.seed(manifest, new ReaderPieceStore(manifest, read), Bitfield.full(manifest.pieces.length));
    return `${server.url}/#${infoHash}`;
  };
  const seedData = async (name: string, data: Uint8Array, pieceLength?: number) => {
    const s = await seedable(name, data, pieceLength);
    const seeder = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(seeder);
    await seeder.seed(s.manifest, s.store, s.have);
    return { ...s, link: `${server.url}/#${s.infoHash}` };
  };

  beforeEach(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' }, { logger: pino({ level: 'silent' }) });
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-cli-files-'));
  });

  afterEach(async () => {
    // In-process WebRTC first, while the processes at the other end are still alive.
    for (const c of clients.splice(0)) c.destroy();
    await new Promise((r) => setTimeout(r, 100));
    for (const p of procs.splice(0)) await p.stop('SIGKILL');
    await closeChecked(server);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a symbolic link in --out that points outside, and writes nothing outside', async () => {
    const data = new Uint8Array(randomBytes(64 * 1024));
    const { link } = await seedData('data.bin', data);
    const outside = join(dir, 'outside.txt');
    await writeFile(outside, 'precious');
    const out = join(dir, 'out');
    await mkdir(out);
    await symlink(outside, join(out, 'data.bin'));

    const getter = cli(['get', link, '--out', out, '--json', '--no-seed']);
    const error = await getter.next((e) => e.event === 'error', 30_000, 'the refusal');
    expect(error.code).toBe('ERR_UNSAFE_PATH');
    expect(String(error.message)).toContain(join(out, 'data.bin'));
    expect(await getter.exited).toBe(1);
    expect(await readFile(outside, 'utf8')).toBe('precious');
  }, 60_000);

  it('refuses a symbolic link as a parent folder under --out, and writes nothing through it', async () => {
    const data = new Uint8Array(randomBytes(20_000));
    const honest = await seedable('set', data);
    const manifest = { ...honest.manifest, files: [{ path: 'set/inner/x.bin', length: data.length }] };
    const link = await seedInProcess(manifest, honest.store.reader);
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere);
    const out = join(dir, 'out');
    await mkdir(join(out, 'set'), { recursive: true });
    await symlink(elsewhere, join(out, 'set', 'inner'));

    const getter = cli(['get', link, '--out', out, '--json', '--no-seed']);
    const error = await getter.next((e) => e.event === 'error', 30_000, 'the refusal');
    expect(error.code).toBe('ERR_UNSAFE_PATH');
    expect(String(error.message)).toContain(join(out, 'set', 'inner'));
    expect(await getter.exited).toBe(1);
    expect(await readdir(elsewhere)).toEqual([]);
  }, 60_000);

  it('a 26-byte download over a 100-byte file of the same name ends as the 26 shared bytes', async () => {
    const data = new TextEncoder().encode('abcdefghijklmnopqrstuvwxyz');
    const { link } = await seedData('letters.txt', data);
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(out, 'letters.txt'), new Uint8Array(100).fill(0x41));

    const getter = cli(['get', link, '--out', out, '--json', '--no-seed']);
    await getter.next((e) => e.event === 'done', 60_000, 'the download');
    expect(await getter.exited).toBe(0);
    const kept = await readFile(join(out, 'letters.txt'));
    expect(kept.length).toBe(26);
    expect(sha(kept)).toBe(sha(data));
  }, 60_000);

  it('a foreign resume file is warned about once, and what is on disk is checked again: good pieces are kept', async () => {
    const PIECE = 16 * 1024;
    const data = new Uint8Array(randomBytes(8 * PIECE));
    const { link, manifest } = await seedData('data.bin', data, PIECE);
    const other = await seedable('other.bin', new Uint8Array(randomBytes(PIECE)));
    const out = join(dir, 'out');
    await mkdir(join(out, '.ringswarm'), { recursive: true });
    // Another share's manifest under this share's name, and a file with the first half right
    // and a longer, wrong tail.
    const infoHash = link.split('#')[1]!;
    await writeFile(join(out, '.ringswarm', `${infoHash}.json`), encodeManifest(other.manifest));
    const onDisk = Buffer.concat([data.subarray(0, 4 * PIECE), randomBytes(6 * PIECE)]);
    await writeFile(join(out, 'data.bin'), onDisk);

    const getter = cli(['get', link, '--out', out, '--json', '--no-seed']);
    const done = await getter.next((e) => e.event === 'done', 60_000, 'the download');
    expect(await getter.exited).toBe(0);
    const warnings = getter.events.filter((e) => e.event === 'warning' && e.code === 'ERR_BAD_RESUME_DATA');
    expect(warnings).toHaveLength(1);
    const resume = getter.events.find((e) => e.event === 'resume');
    expect(resume).toMatchObject({ pieces: 4, of: manifest.pieces.length });
    expect(done.resumedPieces).toBe(4);
    expect(Number(done.downloaded)).toBe(4 * PIECE);
    expect(sha(await readFile(join(out, 'data.bin')))).toBe(sha(data));
    // The resume data is this share's now.
    expect(sha(await readFile(join(out, '.ringswarm', `${infoHash}.json`)))).toBe(sha(encodeManifest(manifest)));
  }, 60_000);

  it('refuses a manifest that writes into the top-level .ringswarm folder, so no resume file can be planted', async () => {
    const data = new Uint8Array(randomBytes(1000));
    const honest = await seedable('x', data);
    const target = 'f'.repeat(64);
    const evil = { ...honest.manifest, files: [{ path: `.ringswarm/${target}.json`, length: data.length }] };
    const link = await seedInProcess(evil, honest.store.reader);
    const out = join(dir, 'out');

    const victim = cli(['get', link, '--out', out, '--json', '--no-seed']);
    const warning = await victim.next(
      (e) => e.event === 'warning' && String(e.message).includes('ERR_BAD_METADATA'),
      30_000,
      'the bad-manifest warning',
    );
    expect(String(warning.message)).toMatch(/\.ringswarm/);
    expect(victim.events.filter((e) => e.event === 'metadata')).toEqual([]);
    await victim.stop();
    const planted = await readFile(join(out, '.ringswarm', `${target}.json`)).catch(() => null);
    expect(planted).toBe(null);
  }, 60_000);
});
