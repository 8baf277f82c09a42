/**
 * The page as an app, in Chromium against the real server: installable (its manifest parses,
 * Chromium reports no installability error), with a service worker that keeps the page shell
 * available offline and a share target through which a file shared from the system's share
 * sheet is shared (and downloaded whole by another page); dark mode from the system or the
 * remembered toggle; the screen wake lock while bytes move, and a confirmation before closing
 * the only complete copy someone is fetching.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import {
  figures,
  firstSaveLink,
  openPage,
  saveBytes,
  serverAndChromium,
  setUploadLimit,
  shareBytes,
  shareLink,
} from '../helpers/pages.js';
import { sha } from '../helpers/sha.js';

/** What `window.ringswarm.activity` (web-client/src/activity.ts) shows. */
interface ActivityWindow {
  ringswarm?: { activity: { wakeLockHeld: boolean; state: { busy: boolean; onlyCopy: boolean } } };
}

const activity = (page: Page) =>
  page.evaluate(() => {
    const a = (window as unknown as ActivityWindow).ringswarm?.activity;
    return a ? { held: a.wakeLockHeld, ...a.state } : null;
  });

/** Resolves once the service worker controls the page. */
const controlled = (page: Page) =>
  page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (navigator.serviceWorker.controller) return true;
    await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve));
    return true;
  });

/** The page's background colour, as computed. */
const background = (page: Page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
const LIGHT_BG = 'rgb(255, 255, 255)';
const DARK_BG = 'rgb(13, 17, 23)';

describe('the page as an installable app', () => {
  const env = serverAndChromium();

  it('is installable: the manifest parses, names a share target, and Chromium reports no installability error', async () => {
    // Installing needs a profile on disk: a new context is an incognito one ('in-incognito').
    const profile = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-app-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: findChromium(),
      args: CHROMIUM_ARGS,
      headless: true,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(env.server.url);
      await controlled(page);
      const cdp = await context.newCDPSession(page);
      const manifest = await cdp.send('Page.getAppManifest');
      expect(manifest.errors).toEqual([]);
      expect(manifest.url).toBe(`${env.server.url}/manifest.webmanifest`);
      const parsed = JSON.parse(manifest.data ?? '{}') as { share_target?: { action: string; method: string } };
      expect(parsed.share_target).toMatchObject({ action: '/share-target', method: 'POST' });
      await expect
        .poll(async () => (await cdp.send('Page.getInstallabilityErrors')).installabilityErrors, { timeout: 15_000 })
        .toEqual([]);
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    }
  });

  it('shows the page shell when the network is gone, once it was opened', async () => {
    const page = await openPage(env.browser, 'offline', {});
    await page.goto(env.server.url);
    await controlled(page);
    await page.context().setOffline(true);
    const response = await page.reload();
    // Served by the service worker from its cache (no network: no server response).
    expect(response?.fromServiceWorker()).toBe(true);
    await expect.poll(() => page.locator('#share-heading').textContent(), { timeout: 10_000 }).toBe('Share files');
    await page.context().close();
  });

  it('shares a file handed to it by the share target, and another page downloads it whole', async () => {
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
    const sharer = await openPage(env.browser, 'share target', {});
    await sharer.goto(env.server.url);
    await controlled(sharer);
    // What the system's share sheet does for an installed app: a navigation that POSTs the
    // file to the manifest's share_target action, as multipart form data.
    await sharer.evaluate(() => {
      const form = document.createElement('form');
      form.id = 'os-share';
      form.method = 'post';
      form.enctype = 'multipart/form-data';
      form.action = '/share-target';
      const input = document.createElement('input');
      input.type = 'file';
      input.name = 'files';
      input.id = 'os-share-files';
      form.append(input);
      document.body.append(form);
    });
    await sharer.setInputFiles('#os-share-files', {
      name: 'from-phone.bin',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(data),
    });
    await Promise.all([
      sharer.waitForEvent('load'),
      sharer.evaluate(() => (document.getElementById('os-share') as HTMLFormElement).submit()),
    ]);
    const link = await shareLink(sharer);
    // The address bar no longer names the share target: a reload would not share it again.
    expect(new URL(sharer.url()).search).toBe('');
    // The service worker's hand-over cache is empty again.
    expect(await sharer.evaluate(async () => (await (await caches.open('ringswarm-share-target')).keys()).length)).toBe(
      0,
    );

    const leecher = await openPage(env.browser, 'leecher');
    await leecher.goto(link);
    const saved = await saveBytes(leecher, await firstSaveLink(leecher));
    expect(saved.name).toBe('from-phone.bin');
    expect(sha(saved.bytes)).toBe(sha(data));
    await sharer.context().close();
    await leecher.context().close();
  });

  it('follows the system theme until the toggle picks one, which it remembers', async () => {
    const page = await openPage(env.browser, 'theme', { colorScheme: 'dark' });
    await page.goto(env.server.url);
    expect(await background(page)).toBe(DARK_BG);
    const toggle = page.locator('#theme-toggle');
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    await toggle.click();
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    expect(await background(page)).toBe(LIGHT_BG);
    await page.reload();
    expect(await background(page)).toBe(LIGHT_BG);
    // A light system: the remembered choice still wins; switched back, it is dark again.
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await background(page)).toBe(LIGHT_BG);
    await toggle.click();
    expect(await background(page)).toBe(DARK_BG);
    await page.context().close();

    const fresh = await openPage(env.browser, 'theme light', { colorScheme: 'light' });
    await fresh.goto(env.server.url);
    expect(await background(fresh)).toBe(LIGHT_BG);
    await fresh.emulateMedia({ colorScheme: 'dark' });
    expect(await background(fresh)).toBe(DARK_BG);
    await fresh.context().close();
  });

  it('holds the screen awake while bytes move, and asks before closing the only complete copy', async () => {
    const data = new Uint8Array(randomBytes(4 * 1024 * 1024));
    const seeder = await openPage(env.browser, 'seeder', {});
    const seederContext = seeder.context();
    const leecher = await openPage(env.browser, 'leecher');
    for (const page of [seeder, leecher]) {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Browser.setPermission', {
        permission: { name: 'screen-wake-lock' },
        setting: 'granted',
        origin: env.server.url,
      });
    }
    await seeder.goto(env.server.url);
    const link = await shareBytes(seeder, 'awake.bin', data);
    // Nobody fetches yet: idle, nothing to ask about.
    await expect
      .poll(() => activity(seeder), { timeout: 5_000 })
      .toEqual({ held: false, busy: false, onlyCopy: false });
    // 4 MiB at 384 KiB/s: about ten seconds of download.
    await setUploadLimit(seeder, 384 * 1024);
    await leecher.goto(link);
    await expect.poll(() => activity(leecher), { timeout: 15_000 }).toMatchObject({ held: true, busy: true });
    await expect.poll(() => activity(seeder), { timeout: 15_000 }).toEqual({ held: true, busy: true, onlyCopy: true });
    expect((await figures(leecher))?.done).toBe(false);

    // Closing the seeder now asks first (a page the person has used: the browser asks only then).
    await seeder.locator('#share-heading').click();
    const dialog = seeder.waitForEvent('dialog');
    await seeder.close({ runBeforeUnload: true });
    const asked = await dialog;
    expect(asked.type()).toBe('beforeunload');
    await asked.dismiss();
    expect(seeder.isClosed()).toBe(false);

    // Done: both hold every piece, nobody is stranded, the locks are let go.
    const saved = await saveBytes(leecher, await firstSaveLink(leecher, 60_000));
    expect(sha(saved.bytes)).toBe(sha(data));
    await expect
      .poll(() => activity(leecher), { timeout: 10_000 })
      .toEqual({ held: false, busy: false, onlyCopy: false });
    await expect
      .poll(() => activity(seeder), { timeout: 10_000 })
      .toEqual({ held: false, busy: false, onlyCopy: false });
    let askedAgain = false;
    seeder.on('dialog', (d) => {
      askedAgain = true;
      void d.accept();
    });
    await seeder.close({ runBeforeUnload: true });
    await expect.poll(() => seeder.isClosed(), { timeout: 5_000 }).toBe(true);
    expect(askedAgain).toBe(false);
    await seederContext.close();
    await leecher.context().close();
  });
});
