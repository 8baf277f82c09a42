/**
 * The page on plain HTTP, as a second machine opens it: Chromium resolves a test host name
 * to 127.0.0.1 (--host-resolver-rules), so http://ringswarm.test:<port>/ is not a secure
 * context (no crypto.subtle, no navigator.storage, no navigator.clipboard). Sharing hashes
 * with the fallback, downloading keeps pieces in IndexedDB, and a reload mid-download
 * resumes from them; a page that finds no route to its peer says why. Also: a page on
 * localhost builds its link on an address the server says others can reach, with a
 * remembered picker.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAY_AT_END_TEXT } from '../../web-client/src/download-view.js';
import {
  figures,
  firstSaveLink,
  launchChromium,
  openPage,
  saveBytes,
  setUploadLimit,
  shareBytes,
  shareLink,
} from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';
import { makeVideo, readVideoState, waitForVideo } from '../helpers/video.js';

const MiB = 1024 * 1024;
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const TEST_HOST = 'ringswarm.test';

/** What a page on plain HTTP lacks, read from the page. */
const context = (page: Page) =>
  page.evaluate(() => ({
    secure: window.isSecureContext,
    subtle: typeof globalThis.crypto?.subtle,
    storage: typeof navigator.storage,
    clipboard: typeof navigator.clipboard,
  }));

describe('the page on plain HTTP (not a secure context)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let plainUrl: string;

  beforeAll(async () => {
    server = await startServerProcess();
    plainUrl = `http://${TEST_HOST}:${new URL(server.url).port}/`;
    browser = await launchChromium([`--host-resolver-rules=MAP ${TEST_HOST} 127.0.0.1`]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const newPage = (): Promise<Page> => openPage(browser);

  it('shares and downloads byte for byte, keeps pieces in IndexedDB, and a reload resumes from them', async () => {
    const data = new Uint8Array(randomBytes(12 * MiB));
    const seeder = await newPage();
    await seeder.goto(plainUrl);
    expect(await context(seeder)).toEqual({
      secure: false,
      subtle: 'undefined',
      storage: 'undefined',
      clipboard: 'undefined',
    });
    // The page says once what plain HTTP costs; dismissed, it stays away in this browser.
    const note = seeder.locator('#http-note');
    await expect.poll(() => note.isVisible()).toBe(true);
    expect(await note.textContent()).toContain('npm start -- --https');
    await seeder.locator('#http-note-dismiss').click();
    expect(await note.isVisible()).toBe(false);
    await seeder.reload();
    await expect.poll(() => seeder.locator('#status').textContent()).not.toMatch(/secure page/);
    expect(await note.isVisible()).toBe(false);

    const link = await shareBytes(seeder, 'plain.bin', data);
    // Not a loopback page: the link names the address this page was opened by.
    expect(link.startsWith(plainUrl)).toBe(true);
    // No navigator.clipboard here: copying goes through the selection, and says so.
    await seeder.locator('#copy-link').click();
    await expect.poll(() => seeder.locator('#copy-link').textContent()).toBe('Copied');
    expect(await seeder.locator('#copy-link').getAttribute('data-copied')).toBe('true');
    // Slow the seeder so that the reload lands mid-download.
    await setUploadLimit(seeder, 1_500_000);

    // Meanwhile, a page whose browser may use relay candidates only, with no TURN server
    // offered: ICE finds no route (ERR_NO_ROUTE after the link's connect timeout, 20 s), and
    // the page explains why and what the operator can do. It runs alongside the download
    // below, so it costs the suite no extra time.
    const stranded = await newPage();
    await stranded.addInitScript(() => {
      const Native = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          super({ ...config, iceTransportPolicy: 'relay' });
        }
      };
    });
    await stranded.goto(link);

    const leecher = await newPage();
    await leecher.goto(link);
    expect((await context(leecher)).secure).toBe(false);
    await expect.poll(async () => (await figures(leecher))?.piecesHave ?? 0, { timeout: 45_000 }).toBeGreaterThan(120);
    const before = (await figures(leecher))!;
    expect(before.storage).toBe('indexeddb');
    expect(before.resumedPieces).toBe(0);
    expect(before.done).toBe(false);

    await leecher.reload();
    await expect.poll(() => figures(leecher), { timeout: 30_000 }).not.toBeNull();
    const resumed = (await figures(leecher))!;
    expect(resumed.storage).toBe('indexeddb');
    // Every piece verified before the reload was found again in IndexedDB and re-verified...
    expect(resumed.resumedPieces).toBeGreaterThanOrEqual(before.piecesHave);
    expect(resumed.resumedPieces).toBeLessThan(resumed.pieceCount!);
    await setUploadLimit(seeder, null);

    await expect.poll(async () => (await figures(leecher))?.done, { timeout: 60_000 }).toBe(true);
    const after = (await figures(leecher))!;
    // ...and was not fetched again: the bytes received after the reload are exactly the
    // file minus what was resumed.
    expect(after.downloaded).toBe(after.length! - resumed.resumedBytes);
    console.log(
      `plain HTTP resume: ${before.piecesHave} pieces held at the reload, ${resumed.resumedPieces} re-verified from IndexedDB, ` +
        `${after.downloaded} of ${after.length} bytes fetched after it`,
    );

    const saved = await saveBytes(leecher, await firstSaveLink(leecher, 30_000));
    expect(saved.name).toBe('plain.bin');
    expect(sha(saved.bytes)).toBe(sha(data));
    // The download view on plain HTTP: the note, the peer's badge, the transfer's badge.
    await expect.poll(() => leecher.locator('#connection-badge').getAttribute('data-badge')).toBe('same-network');
    expect(await leecher.locator('#http-note').isVisible()).toBe(true);
    await mkdir(ARTIFACTS, { recursive: true });
    await leecher.screenshot({ path: join(ARTIFACTS, 'plain-http-download.png'), fullPage: true });

    const advice = stranded.locator('#network-note');
    await expect.poll(() => advice.textContent(), { timeout: 30_000 }).toMatch(/^Could not connect to a peer\./);
    // This server is started with its built-in STUN off and no --stun-url/--turn-url, so the
    // likely cause is that it offers nothing.
    expect(await advice.textContent()).toMatch(/offers no STUN or TURN server.*built-in STUN.*TURN server/);
    expect(await advice.getAttribute('data-kind')).toBe('no-route');
    await stranded.context().close();
    await seeder.context().close();
    await leecher.context().close();
  }, 150_000);

  it('Play says a video plays once complete (no service worker on plain HTTP), then plays the verified file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-plain-'));
    try {
      const file = join(dir, 'clip.webm');
      await makeVideo(file, 10);
      const seeder = await newPage();
      await seeder.goto(plainUrl);
      await seeder.setInputFiles('#file-input', file);
      const link = await shareLink(seeder);
      // About 6 s for the download: Play is clicked while it runs.
      await setUploadLimit(seeder, 64 * 1024);

      const leecher = await newPage();
      await leecher.goto(link);
      expect(await leecher.evaluate(() => 'serviceWorker' in navigator)).toBe(false);
      await leecher.getByRole('button', { name: 'Play clip.webm' }).click();
      expect((await figures(leecher))?.done).toBe(false);
      await expect.poll(() => leecher.locator('.play-note').textContent()).toBe(PLAY_AT_END_TEXT);
      // Once the file is verified, it plays from the stored copy.
      const state = () => leecher.evaluate(readVideoState);
      const playing = await waitForVideo(state, (s) => s.currentTime > 0.5 && !s.paused, 30_000, 'playback');
      expect(playing.state.progress).toBe(1);
      expect(await leecher.locator('#save-links video').getAttribute('src')).toMatch(/^blob:/);
      await seeder.context().close();
      await leecher.context().close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a page on localhost builds its link on an address the server offers, with a remembered picker', async () => {
    const port = new URL(server.url).port;
    const offered = [`http://${TEST_HOST}:${port}`, `http://127.0.0.2:${port}`];
    const page = await newPage();
    // The server's answer (GET /api/addresses), as the server would give it.
    await page.route('**/api/addresses', (route) => route.fulfill({ json: { origins: offered } }));
    const local = `http://localhost:${port}/`;
    await page.goto(local);
    expect((await context(page)).secure).toBe(true);
    expect(await page.locator('#http-note').isVisible()).toBe(false);
    const shareFile = async (name: string) => {
      const link = page.locator('#share-link');
      const before = await link.inputValue();
      await page.setInputFiles('#file-input', {
        name,
        mimeType: 'application/octet-stream',
        buffer: Buffer.from(randomBytes(64 * 1024)),
      });
      // A new share: the link shows its infohash (random bytes: never the one before).
      await expect.poll(() => link.inputValue(), { timeout: 30_000 }).toMatch(/#[0-9a-f]{64}$/);
      await expect.poll(() => link.inputValue()).not.toBe(before);
      return link;
    };
    const link = await shareFile('one.bin');
    expect((await link.inputValue()).startsWith(`${offered[0]}/#`)).toBe(true);
    const picker = page.locator('#share-origin');
    expect(await picker.isVisible()).toBe(true);
    expect(await picker.locator('option').allTextContents()).toEqual(offered);
    await picker.selectOption(offered[1]!);
    await expect.poll(() => link.inputValue()).toMatch(new RegExp(`^http://127\\.0\\.0\\.2:${port}/#[0-9a-f]{64}$`));
    // The next share from this page uses the pick too.
    const next = await shareFile('next.bin');
    expect((await next.inputValue()).startsWith(`${offered[1]}/#`)).toBe(true);

    // The pick is remembered in this browser.
    await page.reload();
    const again = await shareFile('two.bin');
    expect((await again.inputValue()).startsWith(`${offered[1]}/#`)).toBe(true);

    // With an empty list, localhost stays and there is nothing to pick.
    await page.unroute('**/api/addresses');
    await page.route('**/api/addresses', (route) => route.fulfill({ json: { origins: [] } }));
    await page.reload();
    const own = await shareFile('three.bin');
    expect((await own.inputValue()).startsWith(local)).toBe(true);
    expect(await picker.isVisible()).toBe(false);
    await page.context().close();
  });
});
