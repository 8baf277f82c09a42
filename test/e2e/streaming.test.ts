/**
 * Play while downloading, in Chromium: a WebM video made here with ffmpeg is seeded by the CLI
 * under an upload limit (the download takes 20 s or more); the page plays it through the
 * service worker's stream URL while it downloads, seeks to 80%, and saves identical bytes.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliProcess } from '../helpers/cli-process.js';
import { firstSaveLink, launchChromium, openPage, saveBytes } from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';
import { playAndSeek, readVideoState, seedVideo, seekVideo } from '../helpers/video.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));

/** The downloading view with the video playing, desktop and phone, light and dark (test artifacts). */
async function screenshots(page: Page): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const size = page.viewportSize();
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    if (size) await page.setViewportSize(size);
    await page.screenshot({ path: join(ARTIFACTS, `view-playing-${colorScheme}-desktop.png`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, `view-playing-${colorScheme}-phone.png`), fullPage: true });
  }
  if (size) await page.setViewportSize(size);
  await page.emulateMedia({ colorScheme: null });
}

describe('play while downloading (Chromium, service worker, CLI seeder)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dir: string;
  let seeder: CliProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-stream-'));
    server = await startServerProcess();
    browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  });

  afterAll(async () => {
    await seeder?.stop('SIGKILL');
    await browser?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('plays past 2 s before half is downloaded, a seek to 80% plays within 3 s, and the saved bytes are identical', async () => {
    const seeded = await seedVideo(dir, server.url);
    seeder = seeded.seeder;
    const { video, limit, link } = seeded;

    const page = await openPage(browser);
    const state = () => page.evaluate(readVideoState);
    await page.goto(link);
    // The service worker takes the page over on its first visit (clients.claim).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
    const play = page.getByRole('button', { name: 'Play pattern.webm' });
    await play.waitFor({ state: 'visible', timeout: 30_000 });
    const clicked = Date.now();
    await play.click();

    const timings = await playAndSeek(state, (t) => page.evaluate(seekVideo, t), clicked);
    await screenshots(page);

    const saved = await saveBytes(page, await firstSaveLink(page, 120_000));
    const downloadMs = Date.now() - clicked;
    expect(sha(saved.bytes)).toBe(sha(video));
    expect(downloadMs).toBeGreaterThanOrEqual(20_000);
    console.log(
      JSON.stringify({
        video_bytes: video.length,
        upload_limit: limit,
        ...timings,
        download_ms: downloadMs,
      }),
    );
    await page.context().close();
  });
});
