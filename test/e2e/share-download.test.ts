import { randomBytes } from 'node:crypto';
import { discoveryKeyOf } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { firstSaveLink, openPage, saveBytes, serverAndChromium, shareBytes } from '../helpers/pages.js';
import { sha } from '../helpers/sha.js';
import { ADMIN_TOKEN, swarmCounts } from '../helpers/tracker-socket.js';

const FILE_SIZE = 8 * 1024 * 1024;

describe('two Chromium pages share a file through the real server', () => {
  const env = serverAndChromium(['--admin-token', ADMIN_TOKEN]);

  /** Opens the app in a new profile, picks `data` as `name`, and returns the page and its share link. */
  async function share(name: string, data: Uint8Array) {
    const page = await openPage(env.browser, 'page A', {});
    await page.goto(env.server.url);
    return { page, shareUrl: await shareBytes(page, name, data) };
  }

  it('page B downloads the 8 MiB file page A picked, byte for byte, with no file bytes through the server', async () => {
    const data = new Uint8Array(randomBytes(FILE_SIZE));
    // Two contexts: two separate browser profiles, like two people.
    const pageB = await openPage(env.browser, 'page B');
    const { page: pageA, shareUrl } = await share('random.bin', data);
    // The link is also shown as a QR code, for phones.
    await pageA.locator('#share-qr svg').waitFor({ state: 'visible', timeout: 10_000 });
    // The link names the first address the server says others can reach it by, or, when it
    // names none (or has no /api/addresses), the page's own origin.
    const addresses = await fetch(`${env.server.url}/api/addresses`);
    const body: unknown = addresses.ok ? await addresses.json() : null;
    const offered = typeof body === 'object' && body !== null && 'origins' in body ? body.origins : undefined;
    const first = Array.isArray(offered) && typeof offered[0] === 'string' ? offered[0] : null;
    expect(new URL(shareUrl).origin).toBe(first ?? new URL(env.server.url).origin);
    const infoHash = shareUrl.split('#')[1]!;

    const started = Date.now();
    await pageB.goto(shareUrl);
    const save = await firstSaveLink(pageB);
    const transferMs = Date.now() - started;
    const saved = await saveBytes(pageB, save);
    expect(saved.name).toBe('random.bin');
    expect(saved.bytes.length).toBe(FILE_SIZE);
    expect(sha(saved.bytes)).toBe(sha(data));

    // B now seeds: the tracker counts two complete peers in the swarm (the admin sees it by
    // its discovery key's prefix; everyone else, as one of the live swarms).
    const stats = async () => (await fetch(`${env.server.url}/api/stats`)).json();
    expect((await stats()).swarms).toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => swarmCounts(env.server.url, discoveryKeyOf(infoHash)), { timeout: 10_000 })
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
    const page = await openPage(env.browser, 'page', {});
    await page.goto(`${env.server.url}/#not-an-infohash`);
    const status = page.locator('#status');
    await expect.poll(() => status.textContent()).toMatch(/link is malformed/);
    expect(await status.getAttribute('data-kind')).toBe('error');
    await page.context().close();
  });

  it('three pages: one seeder, two leechers, all with identical bytes', async () => {
    const data = new Uint8Array(randomBytes(4 * 1024 * 1024));
    const { page: seeder, shareUrl } = await share('three.bin', data);

    const leechers = await Promise.all([0, 1].map((n) => openPage(env.browser, `leecher ${n}`)));
    await Promise.all(leechers.map((page) => page.goto(shareUrl)));
    for (const page of leechers) {
      const saved = await saveBytes(page, await firstSaveLink(page));
      expect(sha(saved.bytes)).toBe(sha(data));
    }
    for (const page of [seeder, ...leechers]) await page.context().close();
  });
});
