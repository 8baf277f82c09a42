import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli-process.js';
import { noteLink, noteShare } from '../helpers/leak-check.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

describe('the CLI in the ring', () => {
  let server: ServerProcess;
  let dir: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    server = await startServerProcess();
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-cli-ring-'));
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The infohashes `ringswarm search NAME --json` finds. */
  async function search(name: string): Promise<string[]> {
    const { code, stdout, stderr } = await runCli(['search', name, '--tracker', server.url, '--json']);
    expect(code, stderr).toBe(0);
    const line = stdout.split('\n').find((l) => l.includes('"event":"found"'));
    expect(line, stdout).toBeDefined();
    return (JSON.parse(line!) as { infoHashes: string[] }).infoHashes;
  }

  /** What a seeder warned of and its latest ring view, for a failure's message. */
  const seen = (p: CliProcess) =>
    JSON.stringify([...p.events.filter((e) => e.event === 'warning'), p.events.findLast((e) => e.event === 'ring')]);

  it('finds a --public seed by name but not a private one, which downloads through the DHT by its link', async () => {
    const data = new Uint8Array(randomBytes(700 * 1024));
    const file = join(dir, 'field-notes.bin');
    await writeFile(file, data);
    const listedFile = join(dir, 'public-notes.bin');
    await writeFile(listedFile, new Uint8Array(randomBytes(64 * 1024)));
    const seeder = new CliProcess(['seed', file, '--tracker', server.url, '--dht', '--json']);
    const listed = new CliProcess(['seed', listedFile, '--tracker', server.url, '--public', '--json']);
    procs.push(seeder, listed);
    const seeding = await seeder.next((e) => e.event === 'seeding', 30_000, 'the link');
    const link = noteLink(String(seeding.link));
    expect(link).toMatch(/#[0-9a-f]{64}&mode=dht$/);
    expect(seeding.public).toBe(false);
    const infoHash = /#([0-9a-f]{64})/.exec(link)![1]!;
    const listedSeeding = await listed.next((e) => e.event === 'seeding', 30_000, 'the public link');
    expect(listedSeeding.public).toBe(true);
    const listedHash = String(listedSeeding.infoHash);
    noteShare(listedHash);
    const ringEvent = await seeder.next((e) => e.event === 'ring' && e.joined === true, 30_000, 'a ring event');
    expect(ringEvent.id).toMatch(/^[0-9a-f]{40}$/);
    await listed.next((e) => e.event === 'ring' && e.joined === true, 30_000, 'the public seeder in the ring');

    // The public seed's name record is published once it is in the ring.
    let found: string[] = [];
    for (let i = 0; i < 20 && !found.includes(listedHash); i++) found = await search('public-notes.bin');
    expect(found, `the seeders' warnings and ring views: ${seen(listed)} ${seen(seeder)}`).toContain(listedHash);

    // The private seed joined the same ring as long or longer, and published no name record.
    expect(await search('field-notes.bin')).toEqual([]);
    const plain = await runCli(['search', 'field-notes.bin', '--tracker', server.url]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('Only public shares (seeded with --public) can be found by name');
    expect(plain.stdout).not.toContain(infoHash);

    // Its link still finds it: providers are looked up under its discovery key.
    const out = join(dir, 'out');
    const { code, stdout, stderr } = await runCli(['get', link, '--out', out, '--no-seed', '--json']);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('"event":"done"');
    expect(sha(await readFile(join(out, 'field-notes.bin')))).toBe(sha(data));
  }, 120_000);

  it('refuses a trackerless link, search and --public with --no-ring (exit 2)', async () => {
    const link = `${server.url}/#${'ab'.repeat(32)}&mode=dht`;
    const get = await runCli(['get', link, '--no-ring', '--out', join(dir, 'x')]);
    expect(get.code).toBe(2);
    expect(get.stderr).toContain('needs the ring');
    const search = await runCli(['search', 'x', '--no-ring', '--tracker', server.url]);
    expect(search.code).toBe(2);
    // A public listing lives in the ring.
    const listed = await runCli(['seed', join(dir, 'field-notes.bin'), '--public', '--no-ring']);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain('--public lists the share in the ring');
  });
});
