/**
 * Play while downloading, in Chromium: a WebM video made here with ffmpeg is seeded by the CLI
 * under an upload limit (the download takes 20 s or more); the page plays it through the
 * service worker's stream URL while it downloads, seeks to 80%, and saves identical bytes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli-process.js';
import { noteLink } from '../helpers/leak-check.js';
import { firstSaveLink, launchChromium, openPage, saveBytes } from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const run = promisify(execFile);

/** The video: 90 s of ffmpeg's test pattern, VP8, a key frame every 2 s, cues first (seekable while streaming). */
const VIDEO_SECONDS = 90;
/** The download takes at least this long at the seeder's upload limit. */
const DOWNLOAD_SECONDS = 24;

/** Makes the test video with Debian's ffmpeg (`.ci/run` installs it); fails clearly without it. */
async function makeVideo(file: string): Promise<void> {
  try {
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=320x240:rate=25:duration=${VIDEO_SECONDS}`,
      '-c:v',
      'libvpx',
      '-b:v',
      '300k',
      '-g',
      '50',
      '-cues_to_front',
      '1',
      '-f',
      'webm',
      '-y',
      file,
    ]);
  } catch (err) {
    throw new Error(`this test needs ffmpeg with libvpx (apt-get install ffmpeg): ${(err as Error).message}`);
  }
}

interface VideoState {
  currentTime: number;
  duration: number;
  paused: boolean;
  readyState: number;
  /** Share of the download held, 0..1. */
  progress: number;
}

function videoState(page: Page): Promise<VideoState | null> {
  return page.evaluate(() => {
    const video = document.querySelector<HTMLVideoElement>('#save-links video');
    const stats = (
      window as unknown as {
        ringswarm?: { download?: { swarm: { stats(): { have: number; length: number | null } } } };
      }
    ).ringswarm?.download?.swarm.stats();
    if (!video || !stats?.length) return null;
    return {
      currentTime: video.currentTime,
      duration: video.duration,
      paused: video.paused,
      readyState: video.readyState,
      progress: stats.have / stats.length,
    };
  });
}

/** Polls the page's video until `ok` holds; returns the state then and the time it took. */
async function waitForVideo(
  page: Page,
  ok: (s: VideoState) => boolean,
  timeoutMs: number,
  what: string,
): Promise<{ state: VideoState; ms: number }> {
  const t0 = Date.now();
  let last: VideoState | null = null;
  while (Date.now() - t0 < timeoutMs) {
    last = await videoState(page);
    if (last && ok(last)) return { state: last, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; the video was ${JSON.stringify(last)}`);
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
    const file = join(dir, 'pattern.webm');
    await makeVideo(file);
    const video = await readFile(file);
    const limit = Math.ceil(video.length / DOWNLOAD_SECONDS);
    seeder = new CliProcess(['seed', file, '--tracker', server.url, '--json', '--upload-limit', String(limit)]);
    const link = noteLink(String((await seeder.next((e) => e.event === 'seeding', 60_000, 'the link')).link));

    const page = await openPage(browser);
    await page.goto(link);
    // The service worker takes the page over on its first visit (clients.claim).
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
    const play = page.getByRole('button', { name: 'Play pattern.webm' });
    await play.waitFor({ state: 'visible', timeout: 30_000 });
    const clicked = Date.now();
    await play.click();

    const playing = await waitForVideo(page, (s) => s.currentTime > 0 && !s.paused, 20_000, 'the first frame');
    const firstFrameMs = Date.now() - clicked;
    const twoSeconds = await waitForVideo(page, (s) => s.currentTime > 2, 20_000, 'two seconds of playback');
    expect(twoSeconds.state.progress).toBeLessThan(0.5);

    const duration = Number.isFinite(twoSeconds.state.duration) ? twoSeconds.state.duration : VIDEO_SECONDS;
    const target = duration * 0.8;
    const progressAtSeek = (await videoState(page))!.progress;
    await page.evaluate((t) => {
      document.querySelector<HTMLVideoElement>('#save-links video')!.currentTime = t;
    }, target);
    const seeked = await waitForVideo(
      page,
      (s) => s.currentTime >= target + 0.2 && !s.paused && s.readyState >= 3,
      10_000,
      'playback after the seek',
    );
    expect(seeked.ms).toBeLessThan(3_000);
    // The seek was served while the download went on, not from a finished file.
    expect(seeked.state.progress).toBeLessThan(1);

    const saved = await saveBytes(page, await firstSaveLink(page, 120_000));
    const downloadMs = Date.now() - clicked;
    expect(sha(saved.bytes)).toBe(sha(video));
    expect(downloadMs).toBeGreaterThanOrEqual(20_000);
    console.log(
      JSON.stringify({
        video_bytes: video.length,
        upload_limit: limit,
        first_frame_ms: firstFrameMs,
        progress_at_first_frame: Number(playing.state.progress.toFixed(3)),
        progress_at_2s: Number(twoSeconds.state.progress.toFixed(3)),
        progress_at_seek: Number(progressAtSeek.toFixed(3)),
        seek_ms: seeked.ms,
        download_ms: downloadMs,
      }),
    );
    await page.context().close();
  });
});
