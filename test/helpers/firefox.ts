/**
 * Firefox for the end-to-end tests: Debian's firefox-esr driven by puppeteer-core over WebDriver
 * BiDi (Playwright drives only its own patched Firefox), and what the tests do with its pages,
 * the way a person does it: pick files, wait for the link, read what a save link gives.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';
import { expect } from 'vitest';
import { noteLink } from './leak-check.js';
import { type PageFigures, readFigures } from './pages.js';

/**
 * Preferences of the test profile. Host candidates carry the real address instead of an mDNS
 * name (the Node peers and Chromium on this machine cannot resolve Firefox's), and loopback
 * candidates are gathered, as Chromium does; media may play without a gesture.
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.peerconnection.ice.loopback': true,
  'media.autoplay.default': 0,
  'browser.shell.checkDefaultBrowser': false,
};

/**
 * Finds a Firefox binary: $FIREFOX_PATH, Debian's firefox-esr, then firefox. Throws with install
 * instructions when there is none: e2e tests never skip silently.
 */
export function findFirefox(): string {
  const candidates = [process.env.FIREFOX_PATH, '/usr/bin/firefox-esr', '/usr/bin/firefox'].filter(
    (c): c is string => !!c,
  );
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new Error(
      `No Firefox found for the end-to-end tests (looked at: ${candidates.join(', ')}).\n` +
        'Install one with: sudo apt-get install -y firefox-esr   (Debian), or set FIREFOX_PATH.',
    );
  }
  return found;
}

/**
 * Headless Firefox with {@link FIREFOX_PREFS} and `prefs`, over WebDriver BiDi. What a save
 * link saves goes into `downloads`, without asking.
 */
export function launchFirefox(downloads: string, prefs: Record<string, unknown> = {}): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: findFirefox(),
    headless: true,
    extraPrefsFirefox: {
      ...FIREFOX_PREFS,
      'browser.download.folderList': 2,
      'browser.download.dir': downloads,
      'browser.download.useDownloadDir': true,
      'browser.download.always_ask_before_handling_new_types': false,
      'browser.download.start_downloads_in_tmp_dir': false,
      ...prefs,
    },
  });
}

/** A page in a new user context (a separate profile, like another person); its errors are logged as `label`. */
export async function openFirefoxPage(browser: Browser, label = 'firefox page'): Promise<Page> {
  const page = await (await browser.createBrowserContext()).newPage();
  page.on('pageerror', (err) => console.error(`${label} error:`, err));
  return page;
}

/** Picks the files at `paths` on a page that shows the share form; returns the share link. */
export async function firefoxShare(page: Page, paths: string[]): Promise<string> {
  const input = (await page.waitForSelector('#file-input')) as ElementHandle<HTMLInputElement> | null;
  await input!.uploadFile(...paths);
  const linkOf = () => page.$eval('#share-link', (e) => (e as HTMLInputElement).value);
  await expect.poll(linkOf, { timeout: 30_000 }).toMatch(/#[0-9a-f]{64}$/);
  return noteLink(await linkOf());
}

/** The page's download figures (see `figures` in pages.ts); null before a download has started. */
export function firefoxFigures(page: Page): Promise<PageFigures | null> {
  return page.evaluate(readFigures);
}

/**
 * Waits for the save link of `name` (the download's file is complete), clicks it, and returns
 * the bytes Firefox saved into `downloads` (see {@link launchFirefox}; names must differ
 * between saves, or Firefox numbers the copies). For files that are not empty.
 */
export async function firefoxSaveBytes(
  page: Page,
  name: string,
  downloads: string,
  timeoutMs = 60_000,
): Promise<Buffer> {
  const link = await page.waitForSelector(`#save-links a[download="${name}"]`, { visible: true, timeout: timeoutMs });
  // Clicked inside the page: a click at the link's coordinates can miss it while the view
  // still moves (the done message and previews appear above it as the download ends).
  await link!.evaluate((a) => (a as HTMLAnchorElement).click());
  const path = join(downloads, name);
  // Firefox first makes an empty `name`, writes `name.part`, and renames it to `name` when done.
  const saved = async () => existsSync(path) && !existsSync(`${path}.part`) && (await stat(path)).size > 0;
  await expect.poll(saved, { timeout: 30_000 }).toBe(true);
  return readFile(path);
}
