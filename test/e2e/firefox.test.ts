/**
 * The page in Firefox (Debian's firefox-esr, driven over WebDriver BiDi by puppeteer-core):
 * share and download between Firefox pages and across Firefox and Chromium, bytes identical;
 * a reload mid-download resumes; a full quota is named; a video plays while it downloads and
 * seeks. `.ci/run` installs firefox-esr; without it these tests fail and say how to install it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { Browser as FirefoxBrowser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliProcess } from '../helpers/cli-process.js';
import { firefoxFigures, firefoxSaveBytes, firefoxShare, launchFirefox, openFirefoxPage } from '../helpers/firefox.js';
import { applyUploadLimit, firstSaveLink, launchChromium, openPage, saveBytes, shareBytes } from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';
import { until } from '../helpers/until.js';
import { playAndSeek, readVideoState, seedVideo, seekVideo } from '../helpers/video.js';

const MiB = 1024 * 1024;

describe('Firefox', () => {
  let server: ServerProcess;
  let firefox: FirefoxBrowser;
  let chromium: Browser;
  let dir: string;
  /** Where Firefox saves what a save link gives. */
  let downloads: string;
  let seeder: CliProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-firefox-'));
    downloads = join(dir, 'downloads');
    await mkdir(downloads);
    server = await startServerProcess();
    firefox = await launchFirefox(downloads);
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await seeder?.stop('SIGKILL');
    await firefox?.close();
    await chromium?.close();
    expect(await server?.stop()).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `size` random bytes to `name` in the test folder; returns the path and the bytes. */
  async function randomFile(name: string, size: number): Promise<{ path: string; data: Buffer }> {
    const path = join(dir, name);
    const data = randomBytes(size);
    await writeFile(path, data);
    return { path, data };
  }

  /** A Firefox page that shares `size` random bytes as `name`; its link, and the bytes. */
  async function firefoxSharer(name: string, size: number) {
    const { path, data } = await randomFile(name, size);
    const page = await openFirefoxPage(firefox, 'firefox sharer');
    await page.goto(server.url);
    return { page, link: await firefoxShare(page, [path]), data };
  }

  it('a Firefox page shares a file and another Firefox page downloads it, bytes identical', async () => {
    const { page: sharer, link, data } = await firefoxSharer('firefox.bin', 4 * MiB);

    const leecher = await openFirefoxPage(firefox, 'firefox leecher');
    await leecher.goto(link);
    expect(sha(await firefoxSaveBytes(leecher, 'firefox.bin', downloads))).toBe(sha(data));
    // Stored in the origin private file system, as in Chromium.
    expect((await firefoxFigures(leecher))?.storage).toBe('opfs');
    await sharer.browserContext().close();
    await leecher.browserContext().close();
  });

  it('Chromium to Firefox and Firefox to Chromium, bytes identical', async () => {
    const toFirefox = new Uint8Array(randomBytes(3 * MiB));
    const chromeSharer = await openPage(chromium, 'chromium sharer', {});
    await chromeSharer.goto(server.url);
    const link = await shareBytes(chromeSharer, 'from-chromium.bin', toFirefox);
    const firefoxLeecher = await openFirefoxPage(firefox, 'firefox leecher');
    await firefoxLeecher.goto(link);
    expect(sha(await firefoxSaveBytes(firefoxLeecher, 'from-chromium.bin', downloads))).toBe(sha(toFirefox));
    await chromeSharer.context().close();
    await firefoxLeecher.browserContext().close();

    const { page: fromFirefox, link: back, data } = await firefoxSharer('from-firefox.bin', 3 * MiB);
    const chromeLeecher = await openPage(chromium, 'chromium leecher');
    await chromeLeecher.goto(back);
    expect(sha((await saveBytes(chromeLeecher, await firstSaveLink(chromeLeecher))).bytes)).toBe(sha(data));
    await fromFirefox.browserContext().close();
    await chromeLeecher.context().close();
  });

  it('a reload in the middle of a download resumes from the verified pieces', async () => {
    const { page: sharer, link, data } = await firefoxSharer('resume.bin', 8 * MiB);
    // Slow enough that the reload lands mid-download.
    await sharer.evaluate(applyUploadLimit, MiB / 2);

    const leecher = await openFirefoxPage(firefox, 'firefox leecher');
    await leecher.goto(link);
    await expect
      .poll(async () => (await firefoxFigures(leecher))?.piecesHave ?? 0, { timeout: 45_000 })
      .toBeGreaterThan(100);
    const before = (await firefoxFigures(leecher))!;
    expect(before.done).toBe(false);
    await leecher.reload();
    await expect.poll(() => firefoxFigures(leecher), { timeout: 30_000 }).not.toBeNull();
    const resumed = (await firefoxFigures(leecher))!;
    // Every piece verified before the reload was found again and re-verified, not fetched again.
    expect(resumed.resumedPieces).toBeGreaterThanOrEqual(before.piecesHave);
    expect(resumed.resumedPieces).toBeLessThan(resumed.pieceCount!);
    await sharer.evaluate(applyUploadLimit, null);
    expect(sha(await firefoxSaveBytes(leecher, 'resume.bin', downloads))).toBe(sha(data));
    const after = (await firefoxFigures(leecher))!;
    expect(after.downloaded).toBe(after.length! - resumed.resumedBytes);
    await sharer.browserContext().close();
    await leecher.browserContext().close();
  }, 120_000);

  it('says so when the browser will not store more', async () => {
    const { page: sharer, link } = await firefoxSharer('quota.bin', 24 * MiB);
    // A second Firefox whose whole storage is 8 MiB (its own profile, given to this test only).
    const small = await launchFirefox(downloads, { 'dom.quotaManager.temporaryStorage.fixedLimit': 8 * 1024 });
    try {
      const leecher = await openFirefoxPage(small, 'firefox leecher, small quota');
      await leecher.goto(link);
      const status = () => leecher.$eval('#status', (e) => [e.textContent ?? '', e.getAttribute('data-kind')]);
      // A piece write is refused (QuotaExceededError), and the page names the cause.
      await expect.poll(async () => (await status())[0], { timeout: 30_000 }).toMatch(/^Storage quota exceeded/);
      expect((await status())[1]).toBe('error');
      expect((await firefoxFigures(leecher))?.done).toBe(false);
    } finally {
      await small.close();
      await sharer.browserContext().close();
    }
  });

  it('plays a video while it downloads, and a seek to 80% plays within 3 s', async () => {
    const seeded = await seedVideo(dir, server.url);
    seeder = seeded.seeder;
    const { video, link } = seeded;

    const page = await openFirefoxPage(firefox, 'firefox player');
    await page.goto(link);
    // Polled with evaluate: puppeteer's waitForFunction runs its poller through Function(),
    // which the page's CSP refuses in Firefox now and then.
    await until(
      () => page.evaluate(() => navigator.serviceWorker.controller !== null),
      15_000,
      'the service worker controls the page',
    );
    const play = await page.waitForSelector('button[aria-label="Play pattern.webm"]', {
      visible: true,
      timeout: 30_000,
    });
    const clicked = Date.now();
    await play!.click();
    const timings = await playAndSeek(
      () => page.evaluate(readVideoState),
      (t) => page.evaluate(seekVideo, t),
      clicked,
    );
    expect(sha(await firefoxSaveBytes(page, 'pattern.webm', downloads, 120_000))).toBe(sha(video));
    console.log(JSON.stringify({ browser: 'firefox', video_bytes: video.length, ...timings }));
    await page.browserContext().close();
  });
});
