/**
 * Public shares by choice, in Chromium pages that form one ring: a share listed publicly is
 * found by its file name from another page's search box and downloads from the result link;
 * a private share (the default) is not found, checked only once the public one has been, so
 * the DHT is known to answer.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  firstSaveLink,
  openPage,
  type SearchAnswer,
  saveBytes,
  searchByName,
  serverAndChromium,
  shareBytesAs,
} from '../helpers/pages.js';
import { sha } from '../helpers/sha.js';

/** How long the pages may take to join the ring and the public name record to be found. */
const FOUND_WITHIN_MS = 45_000;

describe('finding public shares by file name through the ring', () => {
  const env = serverAndChromium();
  const pages: Page[] = [];

  async function open(label: string): Promise<Page> {
    const page = await openPage(env.browser, label);
    await page.goto(env.server.url);
    pages.push(page);
    return page;
  }

  it("a public share is found by another page's search box and downloads byte-identical; a private one is not found", async () => {
    const tag = randomBytes(4).toString('hex');
    const privateName = `notes-${tag}-private.bin`;
    const publicName = `notes-${tag}-public.bin`;
    const privateData = new Uint8Array(randomBytes(96 * 1024));
    const publicData = new Uint8Array(randomBytes(160 * 1024));
    const [privateSharer, publicSharer, searcher] = await Promise.all([
      open('private sharer'),
      open('public sharer'),
      open('searcher'),
    ]);

    // The box is unticked by default: a share is private unless the person chooses otherwise.
    expect(await privateSharer.locator('#list-public').isChecked()).toBe(false);
    await shareBytesAs(privateSharer, 'private', privateName, privateData);
    expect(await privateSharer.locator('#share-visibility').textContent()).toMatch(/^Private/);
    const publicLink = await shareBytesAs(publicSharer, 'public', publicName, publicData);
    expect(await publicSharer.locator('#share-visibility').textContent()).toMatch(/^Listed publicly/);
    const publicHash = publicLink.split('#')[1]!;

    // Until the searcher has joined the ring it says so; then the DHT finds the public share.
    let answer: SearchAnswer = { state: null, message: '', infoHashes: [] };
    await expect
      .poll(
        async () => {
          answer = await searchByName(searcher, publicName);
          expect(['not-joined', 'none', 'found']).toContain(answer.state);
          return answer.infoHashes;
        },
        { timeout: FOUND_WITHIN_MS, interval: 500 },
      )
      .toEqual([publicHash]);

    // The DHT answers now; the private share, shared before the public one, is not in it by name.
    const missing = await searchByName(searcher, privateName);
    expect(missing).toMatchObject({ state: 'none', infoHashes: [] });
    expect(missing.message).toMatch(/^No public share has that name/);

    // Found again, the result is a link that opens the download.
    expect(await searchByName(searcher, publicName)).toMatchObject({ state: 'found', infoHashes: [publicHash] });
    await searcher.locator(`#search-list a[data-infohash="${publicHash}"]`).click();
    await expect.poll(() => new URL(searcher.url()).hash).toBe(`#${publicHash}`);
    const saved = await saveBytes(searcher, await firstSaveLink(searcher));
    expect(saved.name).toBe(publicName);
    expect(sha(saved.bytes)).toBe(sha(publicData));
    await Promise.all(pages.map((p) => p.context().close()));
  }, 90_000);
});
