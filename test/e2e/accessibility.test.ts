/**
 * Accessibility of the page in Chromium against the real server: axe-core (the npm package,
 * run inside the page) finds no serious or critical violation on the landing, sharing,
 * downloading and done views and the Network view, in the light and the dark theme; and a share and its download
 * are done with the keyboard alone (Tab to the control, Space or Enter to use it). Each view
 * is kept as a screenshot, desktop and phone, light and dark, in test/artifacts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileChooser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { figures, firstSaveLink, openPage, serverAndChromium, setUploadLimit, shareLink } from '../helpers/pages.js';
import { sha } from '../helpers/sha.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
/** A 1×1 PNG, for the image preview. */
const ONE_PIXEL_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's serious and critical violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: [] }> } })
      .axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return (
      result.violations as {
        id: string;
        impact: string | null;
        help: string;
        nodes: { target: string[] }[];
      }[]
    ).map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Checks the view in both themes, and keeps a desktop and a phone screenshot of each in
 * test/artifacts (nothing may scroll sideways on the phone).
 */
async function checkView(page: Page, view: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const found = await seriousViolations(page);
    console.log(`axe, ${view} view, ${colorScheme}: ${found.length} serious or critical violations`);
    expect(found, `${view} view, ${colorScheme} theme`).toEqual([]);
    const size = page.viewportSize();
    await page.screenshot({ path: join(ARTIFACTS, `view-${view}-${colorScheme}-desktop.png`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(ARTIFACTS, `view-${view}-${colorScheme}-phone.png`), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth), `${view} on a phone`).toBeLessThanOrEqual(
      390,
    );
    if (size) await page.setViewportSize(size);
  }
}

/** Presses Tab until the focused element matches `selector`; fails after `max` presses. */
async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`Tab never reached ${selector} in ${max} presses`);
}

describe('the page is accessible', () => {
  const env = serverAndChromium();

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
  });

  it('axe-core finds no serious or critical violation on the landing, sharing, downloading and done views, light and dark', async () => {
    // The harness finds what it should: an image with no text alternative is a critical violation.
    const probe = await openPage(env.browser, 'axe probe', {});
    await probe.setContent('<!doctype html><html lang="en"><title>probe</title><main><img src="data:,"></main></html>');
    expect((await seriousViolations(probe)).map((v) => v.id)).toContain('image-alt');
    await probe.context().close();

    const data = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const seeder = await openPage(env.browser, 'seeder', {});
    await seeder.goto(env.server.url);
    await checkView(seeder, 'landing');
    // A PDF, a video, a text and an image (shared as the folder "4 files"): the download rows then
    // carry a Play button and, once verified, previews (an image with its text alternative, the
    // start of the text, a link to open the PDF).
    await seeder.setInputFiles('#file-input', [
      { name: 'report.pdf', mimeType: 'application/pdf', buffer: Buffer.from(data) },
      { name: 'clip.webm', mimeType: 'video/webm', buffer: randomBytes(64 * 1024) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Meeting notes\n\n- one\n- two\n') },
      { name: 'picture.png', mimeType: 'image/png', buffer: Buffer.from(ONE_PIXEL_PNG, 'base64') },
    ]);
    const link = await shareLink(seeder);
    await checkView(seeder, 'sharing');
    await seeder.locator('#view-network').click();
    await seeder.locator('#ring-section').waitFor({ state: 'visible', timeout: 20_000 });
    await checkView(seeder, 'network');
    await seeder.locator('#view-files').click();

    // Slow enough to look at the download while it runs.
    await setUploadLimit(seeder, 256 * 1024);
    const leecher = await openPage(env.browser, 'leecher');
    await leecher.goto(link);
    await expect.poll(async () => (await figures(leecher))?.downloaded ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    await checkView(leecher, 'downloading');
    expect((await figures(leecher))?.done).toBe(false);

    await setUploadLimit(seeder, null);
    await firstSaveLink(leecher);
    await leecher.getByRole('img', { name: 'Preview of 4 files/picture.png' }).waitFor({ timeout: 10_000 });
    await leecher.getByLabel('Start of 4 files/notes.txt').waitFor({ timeout: 10_000 });
    await leecher.getByRole('link', { name: 'Open report.pdf in a new tab' }).waitFor({ timeout: 10_000 });
    await leecher.getByRole('button', { name: 'Play 4 files/clip.webm' }).waitFor({ timeout: 10_000 });
    await checkView(leecher, 'done');
    await seeder.context().close();
    await leecher.context().close();
  });

  it('shares and downloads with the keyboard alone', async () => {
    const data = new Uint8Array(randomBytes(2 * 1024 * 1024 + 5));
    const sharer = await openPage(env.browser, 'keyboard sharer', {});
    await sharer.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.server.url });
    // Listening from the start: Playwright turns on its file chooser interception when the first
    // listener comes, asynchronously, and a key pressed before that opens no chooser it sees.
    const chooserOpened = new Promise<FileChooser>((resolve) => sharer.once('filechooser', resolve));
    await sharer.goto(env.server.url);
    // Tab to "Choose files" (the file input itself takes focus) and press Space.
    await tabTo(sharer, '#file-input');
    await sharer.keyboard.press('Space');
    const chooser = await chooserOpened;
    await chooser.setFiles({ name: 'keys.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(data) });
    await expect.poll(() => sharer.locator('#share-link').inputValue(), { timeout: 30_000 }).toMatch(/#[0-9a-f]{64}$/);
    // Copy the link with the Copy button, by keyboard.
    await tabTo(sharer, '#copy-link');
    await sharer.keyboard.press('Enter');
    await expect.poll(() => sharer.locator('#copy-link').textContent()).toBe('Copied');
    const link = await sharer.evaluate(() => navigator.clipboard.readText());
    expect(link).toBe(await sharer.locator('#share-link').inputValue());

    const leecher = await openPage(env.browser, 'keyboard leecher');
    await leecher.goto(link);
    await firstSaveLink(leecher);
    await tabTo(leecher, '#save-links a');
    const [download] = await Promise.all([leecher.waitForEvent('download'), leecher.keyboard.press('Enter')]);
    expect(download.suggestedFilename()).toBe('keys.bin');
    expect(sha(readFileSync((await download.path())!))).toBe(sha(data));
    await sharer.context().close();
    await leecher.context().close();
  });
});
