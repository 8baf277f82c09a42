/**
 * What the end-to-end tests do with the page, the way a person does it: open a Chromium
 * profile, pick a file, wait for the share link, click a save link and read what was saved.
 */
import { readFile } from 'node:fs/promises';
import type { SwarmStats } from '@ringswarm/shared';
import {
  type Browser,
  type BrowserContextOptions,
  chromium,
  type Download,
  type Locator,
  type Page,
} from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from './chromium.js';
import { noteLink } from './leak-check.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

/** Headless Chromium with the e2e flags (CHROMIUM_ARGS) and `extraArgs`. */
export function launchChromium(extraArgs: string[] = [], executablePath = findChromium()): Promise<Browser> {
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}

/** The server and the browser of one test file, set by {@link serverAndChromium}'s hooks. */
export interface E2eEnv {
  readonly server: ServerProcess;
  readonly browser: Browser;
}

/**
 * Starts the server (with `serverArgs`) and headless Chromium before the file's tests, closes
 * both after them, and checks that the server exited cleanly. Call it in a `describe`.
 */
export function serverAndChromium(serverArgs: string[] = [], chromiumArgs: string[] = []): E2eEnv {
  const env = {} as { server: ServerProcess; browser: Browser };
  beforeAll(async () => {
    env.server = await startServerProcess(serverArgs);
    env.browser = await launchChromium(chromiumArgs);
  });
  afterAll(async () => {
    await env.browser?.close();
    expect(await env.server?.stop()).toBe(0);
  });
  return env;
}

/** A page in a new context (a separate profile, like another person); its uncaught errors are logged as `label`. */
export async function openPage(
  browser: Browser,
  label = 'page',
  options: BrowserContextOptions = { acceptDownloads: true },
): Promise<Page> {
  const page = await (await browser.newContext(options)).newPage();
  page.on('pageerror', (err) => console.error(`${label} error:`, err));
  return page;
}

/** Waits until the page shows a share link (ending in an infohash) and returns it. */
export async function shareLink(page: Page, timeoutMs = 30_000): Promise<string> {
  const link = page.locator('#share-link');
  await expect.poll(() => link.inputValue(), { timeout: timeoutMs }).toMatch(/#[0-9a-f]{64}$/);
  return noteLink(await link.inputValue());
}

/** Picks `data` as the file `name` on a page that shows the share form; returns the share link. */
export async function shareBytes(page: Page, name: string, data: Uint8Array): Promise<string> {
  await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(data) });
  return shareLink(page);
}

/** The first save link of a download page, once it is visible (the download is complete). */
export async function firstSaveLink(page: Page, timeoutMs = 45_000): Promise<Locator> {
  const save = page.locator('#save-links a').first();
  await save.waitFor({ state: 'visible', timeout: timeoutMs });
  return save;
}

/** Clicks a save link and waits for the browser's download. */
export async function clickDownload(page: Page, link: Locator): Promise<Download> {
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  return download;
}

/** Clicks a save link; returns the name the page gave the file and the bytes the browser saved. */
export async function saveBytes(page: Page, link: Locator): Promise<{ name: string; bytes: Buffer }> {
  const download = await clickDownload(page, link);
  return { name: download.suggestedFilename(), bytes: await readFile((await download.path())!) };
}

/** What the page exposes as `window.ringswarm` (PageHandle in web-client/src/client-setup.ts), as far as used here. */
export interface PageWindow {
  ringswarm?: {
    client: { setRateLimits(limits: { upload: number | null }): void };
    download?: { storage: string; resumedPieces: number; resumedBytes: number; swarm: { stats(): SwarmStats } };
  };
}

/** The page's download figures, read from its client; null before a download has started. */
export interface PageFigures {
  storage: string;
  resumedPieces: number;
  resumedBytes: number;
  piecesHave: number;
  pieceCount: number | null;
  length: number | null;
  downloaded: number;
  done: boolean;
}

/** Reads {@link PageFigures} inside the page (self-contained: it is sent to the browser as source). */
export function readFigures(): PageFigures | null {
  const d = (window as unknown as PageWindow).ringswarm?.download;
  if (!d) return null;
  const s = d.swarm.stats();
  return {
    storage: d.storage,
    resumedPieces: d.resumedPieces,
    resumedBytes: d.resumedBytes,
    piecesHave: s.piecesHave,
    pieceCount: s.pieceCount,
    length: s.length,
    downloaded: s.downloaded,
    done: s.done,
  };
}

export function figures(page: Page): Promise<PageFigures | null> {
  return page.evaluate(readFigures);
}

/** The piece map as painted: cells whose centre shows the held colour, the missing colour, or neither. */
export interface PaintedMap {
  perRow: number;
  held: number;
  missing: number;
  other: number;
}

/**
 * Reads the piece map's pixels inside the page (self-contained): `cells` cells of 8 px with
 * 1 px gaps, as piece-map.ts lays them out, each classified by the pixel at its centre.
 */
export function readPaintedMap(cells: number): PaintedMap {
  const canvas = document.getElementById('piece-map') as HTMLCanvasElement;
  const probe = document.createElement('span');
  document.body.append(probe);
  const rgb = (property: string) => {
    probe.style.color = `var(${property})`;
    return (getComputedStyle(probe).color.match(/\d+/g) ?? []).slice(0, 3).map(Number);
  };
  const held = rgb('--accent');
  const missing = rgb('--track');
  probe.remove();
  const ratio = window.devicePixelRatio || 1;
  const perRow = Math.floor(canvas.width / ratio / 9);
  const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  const out = { perRow, held: 0, missing: 0, other: 0 };
  const near = (at: number, color: number[]) =>
    pixels[at + 3] === 255 && color.every((c, i) => Math.abs(pixels[at + i]! - c) <= 2);
  for (let cell = 0; cell < cells; cell++) {
    const x = Math.floor(((cell % perRow) * 9 + 4) * ratio);
    const y = Math.floor((Math.floor(cell / perRow) * 9 + 4) * ratio);
    const at = (y * canvas.width + x) * 4;
    if (near(at, held)) out.held++;
    else if (near(at, missing)) out.missing++;
    else out.other++;
  }
  return out;
}

export function paintedMap(page: Page, cells: number): Promise<PaintedMap> {
  return page.evaluate(readPaintedMap, cells);
}

/** Sets the page's upload limit in bytes per second (null: none), inside the page (self-contained). */
export function applyUploadLimit(upload: number | null): void {
  (window as unknown as PageWindow).ringswarm!.client.setRateLimits({ upload });
}

/** Sets the page's upload limit in bytes per second (null: none). */
export function setUploadLimit(page: Page, upload: number | null): Promise<void> {
  return page.evaluate(applyUploadLimit, upload);
}

/**
 * Ticks or unticks "List publicly", then picks `data` as the file `name`; returns the share link
 * once the page shows the share's visibility (a new link: the page may have shown another).
 */
export async function shareBytesAs(
  page: Page,
  visibility: 'public' | 'private',
  name: string,
  data: Uint8Array,
): Promise<string> {
  await page.locator('#list-public').setChecked(visibility === 'public');
  const before = await page.locator('#share-link').inputValue();
  await page.setInputFiles('#file-input', { name, mimeType: 'application/octet-stream', buffer: Buffer.from(data) });
  await expect.poll(() => page.locator('#share-link').inputValue(), { timeout: 30_000 }).not.toBe(before);
  await expect.poll(() => page.locator('#share-visibility').getAttribute('data-visibility')).toBe(visibility);
  return shareLink(page);
}

/** What the page's search box answered: its state (`data-state` of #search-results) and the infohashes it links to. */
export interface SearchAnswer {
  state: string | null;
  message: string;
  infoHashes: string[];
}

/** Types `name` into the page's search box, presses Search and waits for the answer. */
export async function searchByName(page: Page, name: string, timeoutMs = 15_000): Promise<SearchAnswer> {
  // The search box is in the Network view.
  if (await page.locator('#search-name').isHidden()) await page.locator('#view-network').click();
  await page.locator('#search-name').fill(name);
  await page.locator('#search-button').click();
  const results = page.locator('#search-results');
  await expect.poll(() => results.getAttribute('data-state'), { timeout: timeoutMs }).not.toBe('searching');
  const infoHashes = await page
    .locator('#search-list a[data-infohash]')
    .evaluateAll((links) => links.map((a) => a.getAttribute('data-infohash') ?? ''));
  return {
    state: await results.getAttribute('data-state'),
    message: (await page.locator('#search-message').textContent()) ?? '',
    infoHashes,
  };
}

/** Reports the download shown on `page` with `reason` through its form; returns the result it shows. */
export async function reportShown(page: Page, reason: string): Promise<{ outcome: string | null; message: string }> {
  const result = page.locator('#report-result');
  if (await page.locator('#report-form').isHidden()) await page.locator('#report-open').click();
  await page.locator('#report-reason').fill(reason);
  await page.locator('#report-send').click();
  await expect.poll(() => result.getAttribute('data-result'), { timeout: 10_000 }).not.toBeNull();
  return { outcome: await result.getAttribute('data-result'), message: (await result.textContent()) ?? '' };
}
