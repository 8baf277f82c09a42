import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { CliProcess } from '../helpers/cli-process.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

describe('the CLI and a Chromium page in one swarm', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dir: string;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    const executablePath = findChromium();
    server = await startServerProcess();
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
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
    const link = String((await seeder.next((e) => e.event === 'seeding', 60_000, 'the link')).link);

    const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
    await page.goto(link);
    const save = page.locator('#save-links a').first();
    await save.waitFor({ state: 'visible', timeout: 45_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), save.click()]);
    expect(download.suggestedFilename()).toBe('from-cli.bin');
    expect(sha(await readFile((await download.path())!))).toBe(sha(data));
    await page.context().close();
  });

  it('a page seeds, the CLI downloads the same bytes and exits 0', async () => {
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.url);
    await page.setInputFiles('#file-input', {
      name: 'from-page.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(data),
    });
    const link = page.locator('#share-link');
    await expect.poll(() => link.inputValue(), { timeout: 30_000 }).toMatch(/#[0-9a-f]{64}$/);

    const out = join(dir, 'cli-out');
    const getter = new CliProcess(['get', await link.inputValue(), '--out', out, '--no-seed', '--json']);
    procs.push(getter);
    await getter.next((e) => e.event === 'done', 60_000, 'the download');
    expect(await getter.exited).toBe(0);
    expect(sha(await readFile(join(out, 'from-page.bin')))).toBe(sha(data));
    await page.context().close();
  });
});
