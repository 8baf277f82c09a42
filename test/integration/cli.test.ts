import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
import { CliProcess, runCli } from '../helpers/cli-process.js';
import { closeChecked, noteLink, noteShare } from '../helpers/leak-check.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { wrtc } from '../helpers/wrtc.js';

const MiB = 1024 * 1024;

describe('ringswarm CLI', () => {
  let server: RunningServer;
  let dir: string;
  const procs: CliProcess[] = [];
  // In-process peers here stand in for a swarm member (an attacker, a seeder); they stay out
  // of the ring, which the CLI processes form among themselves (the ring has its own tests).
  const clients: RingswarmClient[] = [];
  const cli = (args: string[]) => {
    const p = new CliProcess(args);
    procs.push(p);
    return p;
  };

  beforeEach(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' }, { logger: pino({ level: 'silent' }) });
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-cli-'));
  });

  afterEach(async () => {
    // In-process WebRTC first, while the processes at the other end are still alive: closing
    // a native connection whose remote was just killed races the stack's own failure handling.
    for (const c of clients.splice(0)) c.destroy();
    await new Promise((r) => setTimeout(r, 100));
    for (const p of procs.splice(0)) await p.stop('SIGKILL');
    await closeChecked(server);
    await rm(dir, { recursive: true, force: true });
  });

  it('seeds a folder to another CLI, which resumes after being killed and fetches only what is missing', async () => {
    const folder = join(dir, 'photos');
    await mkdir(join(folder, 'day 1'), { recursive: true });
    const a = new Uint8Array(randomBytes(5 * MiB + 123));
    const b = new Uint8Array(randomBytes(3 * MiB));
    await writeFile(join(folder, 'day 1', 'a.jpg'), a);
    await writeFile(join(folder, 'b.jpg'), b);

    // A slow seeder, so the first download can be killed half-way.
    const seeder = cli(['seed', folder, '--tracker', server.url, '--upload-limit', String(2 * MiB), '--json']);
    const link = noteLink(String((await seeder.next((e) => e.event === 'seeding', 60_000, 'the share link')).link));
    expect(link).toMatch(new RegExp(`^${server.url}/#[0-9a-f]{64}$`));

    const out = join(dir, 'out');
    const first = cli(['get', link, '--out', out, '--json', '--no-seed']);
    await first.next((e) => e.event === 'progress' && Number(e.have) > 2 * MiB, 60_000, 'some progress');
    expect(await first.stop('SIGKILL')).toBe(null);

    const second = cli(['get', link, '--out', out, '--json', '--no-seed']);
    const resume = await second.next((e) => e.event === 'resume', 30_000, 'the resume check');
    const total = Math.ceil((a.length + b.length) / (16 * 1024));
    expect(Number(resume.pieces)).toBeGreaterThan(0);
    expect(Number(resume.pieces)).toBeLessThan(total);
    const done = await second.next((e) => e.event === 'done', 60_000, 'the download');
    expect(Number(done.downloaded)).toBeLessThan(a.length + b.length);
    expect(await second.exited).toBe(0);
    expect(sha(await readFile(join(out, 'photos', 'day 1', 'a.jpg')))).toBe(sha(a));
    expect(sha(await readFile(join(out, 'photos', 'b.jpg')))).toBe(sha(b));
  }, 120_000);

  it('refuses a crafted manifest with ../ names and writes nothing outside --out', async () => {
    const data = new Uint8Array(randomBytes(64 * 1024));
    const honest = await seedable('x', data);
    // A manifest the library would never build: its file climbs out of the download folder.
    const evil = {
      ...honest.manifest,
      name: 'x',
      files: [{ path: '../escaped.txt', length: data.length }],
    } as Manifest;
    const infoHash = await sha256Hex(encodeManifest(evil));
    noteShare(infoHash);
    const attacker = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(attacker);
    await attacker.seed(evil, new ReaderPieceStore(evil, honest.store.reader), Bitfield.full(evil.pieces.length));

    const out = join(dir, 'inbox');
    const victim = cli(['get', `${server.url}/#${infoHash}`, '--out', out, '--json', '--no-seed']);
    const warning = await victim.next((e) => e.event === 'warning' && String(e.message).includes('ERR_BAD_METADATA'));
    expect(String(warning.message)).toMatch(/path must be relative/);
    await victim.stop();
    await expect(access(join(dir, 'escaped.txt'))).rejects.toThrow();
    await expect(access(join(out, 'escaped.txt'))).rejects.toThrow();
  }, 60_000);

  it('stops with a clear storage error and exit code 1 when the files cannot be written', async () => {
    const data = new Uint8Array(randomBytes(256 * 1024));
    const seed = await seedable('data.bin', data);
    const seeder = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(seeder);
    await seeder.seed(seed.manifest, seed.store, seed.have);
    // A regular file where the output folder should be: every write fails, even as root.
    await writeFile(join(dir, 'blocked'), 'not a folder');
    const getter = cli(['get', `${server.url}/#${seed.infoHash}`, '--out', join(dir, 'blocked', 'out'), '--json']);
    const error = await getter.next((e) => e.event === 'error', 30_000, 'the storage error');
    expect(error.code).toBe('ERR_STORAGE');
    expect(String(error.message)).toMatch(/ENOTDIR|not a directory/i);
    expect(await getter.exited).toBe(1);
  }, 60_000);

  it('throws away a damaged resume file with a warning and downloads afresh', async () => {
    const data = new Uint8Array(randomBytes(256 * 1024));
    const seed = await seedable('data.bin', data);
    const seeder = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(seeder);
    await seeder.seed(seed.manifest, seed.store, seed.have);
    // What a crash or a full disk can leave behind: a manifest cut short, then bytes that are not UTF-8.
    const out = join(dir, 'out');
    const statePath = join(out, '.ringswarm', `${seed.infoHash}.json`);
    await mkdir(dirname(statePath), { recursive: true });
    const garbage = Buffer.concat([
      Buffer.from(encodeManifest(seed.manifest)).subarray(0, 40),
      Buffer.from([0xff, 0xfe]),
    ]);
    await writeFile(statePath, garbage);

    const getter = cli(['get', `${server.url}/#${seed.infoHash}`, '--out', out, '--json', '--no-seed']);
    const warning = await getter.next((e) => e.event === 'warning', 30_000, 'the warning');
    expect(warning.code).toBe('ERR_BAD_RESUME_DATA');
    const done = await getter.next((e) => e.event === 'done', 60_000, 'the download');
    expect(await getter.exited).toBe(0);
    expect(done.resumedPieces).toBe(0);
    expect(getter.events.filter((e) => e.event === 'resume')).toEqual([]);
    expect(sha(await readFile(join(out, 'data.bin')))).toBe(sha(data));
    // The damaged file is gone: deleted, or already replaced by the manifest just fetched.
    const kept = await readFile(statePath).catch(() => null);
    expect(kept === null || kept.equals(Buffer.from(encodeManifest(seed.manifest)))).toBe(true);
  }, 60_000);

  it('prints usage and exits 2 on bad arguments', async () => {
    for (const args of [
      [],
      ['fly'],
      ['get'],
      ['seed', 'a', 'b'],
      ['get', 'not a link'],
      ['get', 'http://localhost:8080/#abc'],
      ['get', `http://localhost:8080/#${'a'.repeat(64)}`, '--upload-limit', 'fast'],
      ['seed', 'x', '--turn', 'turn:example.org'],
      ['seed', 'x', '--stun', 'http://example.org'],
      ['get', `http://localhost:8080/#${'a'.repeat(64)}`, '--bogus'],
    ]) {
      const { code, stderr, stdout } = await runCli(args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(`${stdout}${stderr}`).toMatch(/Usage:|ERR_BAD_LINK/);
    }
    const missing = await runCli(['seed', join(dir, 'nothing-here'), '--tracker', server.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('ENOENT');
  });
});
