import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const FILE_SIZE = 8 * 1024 * 1024;

describe('two Chromium pages share a file through the real server', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    const executablePath = findChromium();
    server = await startServerProcess();
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  });

  /** Opens the app in a new profile, picks `data` as `name`, and returns the page and its share link. */
  async function share(name: string, data: Uint8Array) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.url);
    await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(data) });
    const link = page.locator('#share-link');
    await expect.poll(() => link.inputValue(), { timeout: 30_000 }).toMatch(/#[0-9a-f]{64}$/);
    return { page, shareUrl: await link.inputValue() };
  }

  afterAll(async () => {
    await browser?.close();
    const code = await server?.stop();
    expect(code).toBe(0);
  });

  it('page B downloads the 8 MiB file page A picked, byte for byte, with no file bytes through the server', async () => {
    const data = new Uint8Array(randomBytes(FILE_SIZE));
    // Two contexts: two separate browser profiles, like two people.
    const pageB = await (await browser.newContext({ acceptDownloads: true })).newPage();
    pageB.on('pageerror', (err) => console.error('page B error:', err));
    const { page: pageA, shareUrl } = await share('random.bin', data);
    pageA.on('pageerror', (err) => console.error('page A error:', err));
    // The link is also shown as a QR code, for phones.
    await pageA.locator('#share-qr svg').waitFor({ state: 'visible', timeout: 10_000 });
    // The link names the first address the server says others can reach it by, or, when it
    // names none (or has no /api/addresses), the page's own origin.
    const addresses = await fetch(`${server.url}/api/addresses`);
    const body: unknown = addresses.ok ? await addresses.json() : null;
    const offered = typeof body === 'object' && body !== null && 'origins' in body ? body.origins : undefined;
    const first = Array.isArray(offered) && typeof offered[0] === 'string' ? offered[0] : null;
    expect(new URL(shareUrl).origin).toBe(first ?? new URL(server.url).origin);
    const infoHash = shareUrl.split('#')[1]!;

    const started = Date.now();
    await pageB.goto(shareUrl);
    const save = pageB.locator('#save-links a').first();
    await save.waitFor({ state: 'visible', timeout: 45_000 });
    const transferMs = Date.now() - started;
    const [download] = await Promise.all([pageB.waitForEvent('download'), save.click()]);
    expect(download.suggestedFilename()).toBe('random.bin');
    const saved = await readFile((await download.path())!);
    expect(saved.length).toBe(FILE_SIZE);
    expect(sha(saved)).toBe(sha(data));

    // B now seeds: the tracker counts two complete peers in the swarm.
    const stats = async () => (await fetch(`${server.url}/api/stats`)).json();
    await expect
      .poll(async () => (await stats()).swarms[infoHash], { timeout: 10_000 })
      .toMatchObject({
        complete: 2,
        incomplete: 0,
      });
    const { traffic } = await stats();
    const relayed = Object.values(traffic.relayed as Record<string, number>).reduce((a, b) => a + b, 0);
    const transport = traffic.transportIn + traffic.transportOut;
    console.log(
      `8 MiB Chromium-to-Chromium: ${transferMs} ms from opening the link to the save button; ` +
        `server relayed ${relayed} signal bytes, ${transport} socket bytes in+out`,
    );
    // Signaling only: everything the tracker saw on its sockets is under 1% of the file.
    expect(relayed).toBeGreaterThan(0);
    expect(transport).toBeLessThan(FILE_SIZE / 100);
  });

  it('explains a malformed link instead of failing silently', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/#not-an-infohash`);
    const status = page.locator('#status');
    await expect.poll(() => status.textContent()).toMatch(/link is malformed/);
    expect(await status.getAttribute('data-kind')).toBe('error');
    await page.context().close();
  });

  it('three pages: one seeder, two leechers, all with identical bytes', async () => {
    const data = new Uint8Array(randomBytes(4 * 1024 * 1024));
    const { page: seeder, shareUrl } = await share('three.bin', data);

    const leechers = await Promise.all(
      [0, 1].map(async () => (await browser.newContext({ acceptDownloads: true })).newPage()),
    );
    await Promise.all(leechers.map((page) => page.goto(shareUrl)));
    for (const page of leechers) {
      const save = page.locator('#save-links a').first();
      await save.waitFor({ state: 'visible', timeout: 45_000 });
      const [download] = await Promise.all([page.waitForEvent('download'), save.click()]);
      const saved = await readFile((await download.path())!);
      expect(sha(saved)).toBe(sha(data));
    }
    for (const page of [seeder, ...leechers]) await page.context().close();
  });
});
