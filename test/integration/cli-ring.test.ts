import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli-process.js';
import { noteLink } from '../helpers/leak-check.js';
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

  it('seeds a trackerless link, finds it by name, and downloads it through the DHT', async () => {
    const data = new Uint8Array(randomBytes(700 * 1024));
    const file = join(dir, 'field-notes.bin');
    await writeFile(file, data);
    const seeder = new CliProcess(['seed', file, '--tracker', server.url, '--dht', '--json']);
    procs.push(seeder);
    const link = noteLink(String((await seeder.next((e) => e.event === 'seeding', 30_000, 'the link')).link));
    expect(link).toMatch(/#[0-9a-f]{64}&mode=dht$/);
    const infoHash = /#([0-9a-f]{64})/.exec(link)![1]!;
    const ringEvent = await seeder.next((e) => e.event === 'ring' && e.joined === true, 30_000, 'a ring event');
    expect(ringEvent.id).toMatch(/^[0-9a-f]{40}$/);

    // The name record is published once the seeder is in the ring.
    let found: string[] = [];
    for (let i = 0; i < 20 && !found.includes(infoHash); i++) {
      const { code, stdout } = await runCli(['search', 'field-notes.bin', '--tracker', server.url, '--json']);
      expect(code).toBe(0);
      const line = stdout.split('\n').find((l) => l.includes('"event":"found"'));
      found = line ? (JSON.parse(line) as { infoHashes: string[] }).infoHashes : [];
    }
    expect(found).toContain(infoHash);

    const out = join(dir, 'out');
    const { code, stdout, stderr } = await runCli(['get', link, '--out', out, '--no-seed', '--json']);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('"event":"done"');
    expect(sha(await readFile(join(out, 'field-notes.bin')))).toBe(sha(data));
  }, 120_000);

  it('refuses a trackerless link with --no-ring, and search with --no-ring (exit 2)', async () => {
    const link = `${server.url}/#${'ab'.repeat(32)}&mode=dht`;
    const get = await runCli(['get', link, '--no-ring', '--out', join(dir, 'x')]);
    expect(get.code).toBe(2);
    expect(get.stderr).toContain('needs the ring');
    const search = await runCli(['search', 'x', '--no-ring', '--tracker', server.url]);
    expect(search.code).toBe(2);
  });
});
