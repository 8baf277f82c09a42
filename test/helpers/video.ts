/**
 * The streaming tests' video and what they read of the page's player, in any browser: a WebM
 * made here with ffmpeg, and the `<video>` element's state next to the download's progress.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { CliProcess } from './cli-process.js';
import { noteLink } from './leak-check.js';

const run = promisify(execFile);

/** The video's length: 90 s of ffmpeg's test pattern. */
export const VIDEO_SECONDS = 90;

/**
 * Makes the test video (`seconds` long) with Debian's ffmpeg (`.ci/run` installs it): VP8 at 300 kbit/s, a key
 * frame every 2 s, cues first (seekable while streaming). Fails clearly without ffmpeg.
 */
export async function makeVideo(file: string, seconds = VIDEO_SECONDS): Promise<void> {
  try {
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=320x240:rate=25:duration=${seconds}`,
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

/** How long the download of {@link seedVideo}'s video takes at its seeder's upload limit. */
export const VIDEO_DOWNLOAD_SECONDS = 24;

/**
 * Makes `pattern.webm` in `dir` and seeds it with the CLI through `trackerUrl`, its upload
 * limited so that the download takes {@link VIDEO_DOWNLOAD_SECONDS}; the caller stops `seeder`.
 */
export async function seedVideo(
  dir: string,
  trackerUrl: string,
): Promise<{ video: Buffer; limit: number; seeder: CliProcess; link: string }> {
  const file = join(dir, 'pattern.webm');
  await makeVideo(file);
  const video = await readFile(file);
  const limit = Math.ceil(video.length / VIDEO_DOWNLOAD_SECONDS);
  const seeder = new CliProcess(['seed', file, '--tracker', trackerUrl, '--json', '--upload-limit', String(limit)]);
  const link = noteLink(String((await seeder.next((e) => e.event === 'seeding', 60_000, 'the link')).link));
  return { video, limit, seeder, link };
}

export interface VideoState {
  currentTime: number;
  duration: number;
  paused: boolean;
  readyState: number;
  /** Share of the download held, 0..1. */
  progress: number;
}

/** Reads the page's player and progress inside the page (self-contained: it is sent as source); null before both exist. */
export function readVideoState(): VideoState | null {
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
}

/** Seeks the page's player to `time` seconds (inside the page). */
export function seekVideo(time: number): void {
  document.querySelector<HTMLVideoElement>('#save-links video')!.currentTime = time;
}

/** Polls `read` until `ok` holds; returns the state then and the time it took. */
export async function waitForVideo(
  read: () => Promise<VideoState | null>,
  ok: (s: VideoState) => boolean,
  timeoutMs: number,
  what: string,
): Promise<{ state: VideoState; ms: number }> {
  const t0 = Date.now();
  let last: VideoState | null = null;
  while (Date.now() - t0 < timeoutMs) {
    last = await read();
    if (last && ok(last)) return { state: last, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; the video was ${JSON.stringify(last)}`);
}

/** The timings of {@link playAndSeek}. */
export interface PlayTimings {
  first_frame_ms: number;
  progress_at_first_frame: number;
  progress_at_2s: number;
  progress_at_seek: number;
  seek_ms: number;
}

/**
 * After Play was clicked at `clickedAt`: the player shows a first frame, passes 2 s while less
 * than half is downloaded, and a seek to 80% plays within 3 s while the download goes on.
 */
export async function playAndSeek(
  state: () => Promise<VideoState | null>,
  seek: (time: number) => Promise<void>,
  clickedAt: number,
): Promise<PlayTimings> {
  const playing = await waitForVideo(state, (s) => s.currentTime > 0 && !s.paused, 20_000, 'the first frame');
  const firstFrameMs = Date.now() - clickedAt;
  const twoSeconds = await waitForVideo(state, (s) => s.currentTime > 2, 20_000, 'two seconds of playback');
  expect(twoSeconds.state.progress).toBeLessThan(0.5);

  const duration = Number.isFinite(twoSeconds.state.duration) ? twoSeconds.state.duration : VIDEO_SECONDS;
  const target = duration * 0.8;
  const progressAtSeek = (await state())!.progress;
  await seek(target);
  const seeked = await waitForVideo(
    state,
    (s) => s.currentTime >= target + 0.2 && !s.paused && s.readyState >= 3,
    10_000,
    'playback after the seek',
  );
  expect(seeked.ms).toBeLessThan(3_000);
  // The seek was served while the download went on, not from a finished file.
  expect(seeked.state.progress).toBeLessThan(1);
  const round = (x: number) => Number(x.toFixed(3));
  return {
    first_frame_ms: firstFrameMs,
    progress_at_first_frame: round(playing.state.progress),
    progress_at_2s: round(twoSeconds.state.progress),
    progress_at_seek: round(progressAtSeek),
    seek_ms: seeked.ms,
  };
}
