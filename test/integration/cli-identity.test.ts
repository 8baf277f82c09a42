/**
 * The CLI keeps its key: the same `--identity` file gives the same peer ID run after run
 * (mode 600), two runs at once on one file never share an ID (the second gets a fresh one and
 * says so), a stale lock of a dead process is taken over, and an unsafe file is refused.
 */
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli-process.js';

describe('ringswarm CLI identity', () => {
  let server: RunningServer;
  let dir: string;
  const procs: CliProcess[] = [];

  beforeEach(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' }, { logger: pino({ level: 'silent' }) });
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-identity-'));
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) await p.stop('SIGKILL');
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ring = (file: string) => {
    const p = new CliProcess(['ring', '--tracker', server.url, '--json', '--identity', file]);
    procs.push(p);
    return p;
  };
  const joinedAs = async (p: CliProcess) => String((await p.next((e) => e.event === 'ring-joined', 30_000)).id);

  it('gives the same peer ID from the same --identity file twice in a row, and another file another ID', async () => {
    const file = join(dir, 'me', 'identity.json');
    const first = ring(file);
    const id = await joinedAs(first);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await first.stop('SIGTERM');
    await expect(stat(`${file}.lock`)).rejects.toThrow();
    const second = ring(file);
    expect(await joinedAs(second)).toBe(id);
    await second.stop('SIGTERM');
    expect(await joinedAs(ring(join(dir, 'other.json')))).not.toBe(id);
  });

  it('gives a second run on a file in use a fresh ID with a note; takes over a dead process’s lock', async () => {
    const file = join(dir, 'identity.json');
    const holder = ring(file);
    const id = await joinedAs(holder);
    const second = ring(file);
    const note = await second.next((e) => e.event === 'warning' && e.code === 'IDENTITY_IN_USE', 30_000);
    expect(String(note.message)).toContain(file);
    expect(await joinedAs(second)).not.toBe(id);
    // The holder dies without cleaning up: its lock names a dead pid, which the next run takes over.
    await holder.stop('SIGKILL');
    // Its ring still points at the killed process (same ID) until the link times out, so read
    // the ID from the first status line instead of waiting for the join.
    const third = ring(file);
    expect(String((await third.next((e) => e.event === 'ring', 30_000)).id)).toBe(id);
  });

  it('refuses an identity file others can read, and a damaged one, with ERR_IDENTITY_STORE', async () => {
    const file = join(dir, 'identity.json');
    await writeFile(file, `${JSON.stringify({ version: 1, seed: 'ab'.repeat(32) })}\n`, { mode: 0o644 });
    await chmod(file, 0o644);
    const open = await runCli(['ring', '--tracker', server.url, '--json', '--identity', file]);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain('is readable or writable by others (mode 644; want 600)');
    expect(open.stderr).toContain(ErrorCode.IDENTITY_STORE);
    await writeFile(file, 'not json', { mode: 0o600 });
    await chmod(file, 0o600);
    const damaged = await runCli(['ring', '--tracker', server.url, '--json', '--identity', file]);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/is not an identity file.*ERR_IDENTITY_STORE/);
    // Never overwritten: it may be the only copy of a key.
    expect((await stat(file)).size).toBe('not json'.length);
  });
});
