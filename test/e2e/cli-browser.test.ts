import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli-process.js';
import { noteLink } from '../helpers/leak-check.js';
import { firstSaveLink, launchChromium, openPage, saveBytes, shareBytes } from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

describe('the CLI and a Chromium page in one swarm', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dir: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    server = await startServerProcess();
    browser = await launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-cli-'));
  });

  afterAll(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    await browser?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the CLI seeds, a page downloads the same bytes', async () => {
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const file = join(dir, 'from-cli.bin');
    await writeFile(file, data);
    const seeder = new CliProcess(['seed', file, '--tracker', server.url, '--json']);
    procs.push(seeder);
    const link = noteLink(String((await seeder.next((e) => e.event === 'seeding', 60_000, 'the link')).link));

    const page = await openPage(browser);
    await page.goto(link);
    const saved = await saveBytes(page, await firstSaveLink(page));
    expect(saved.name).toBe('from-cli.bin');
    expect(sha(saved.bytes)).toBe(sha(data));
    await page.context().close();
  });

  it('a page seeds, the CLI downloads the same bytes and exits 0', async () => {
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const page = await openPage(browser, 'page', {});
    await page.goto(server.url);
    const link = await shareBytes(page, 'from-page.bin', data);

    const out = join(dir, 'cli-out');
    const getter = new CliProcess(['get', link, '--out', out, '--no-seed', '--json']);
    procs.push(getter);
    await getter.next((e) => e.event === 'done', 60_000, 'the download');
    expect(await getter.exited).toBe(0);
    expect(sha(await readFile(join(out, 'from-page.bin')))).toBe(sha(data));
    await page.context().close();
  });
});
