/**
 * The operator's controls as people meet them in Chromium: a share on the server's deny list
 * is refused by the tracker and both its sharer and whoever opens its link are told so; a
 * share that is not on the list downloads as ever; "Report this link" reaches the server,
 * is counted in /metrics, and a flood from one address is refused with a message.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstSaveLink, launchChromium, openPage, reportShown, saveBytes, shareBytes } from '../helpers/pages.js';
import { seedable } from '../helpers/seed.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const BLOCKED_TEXT = 'The operator of this server has blocked this share.';
/** More reports than the server takes from one address in a minute (5 by default). */
const FLOOD = 10;

/** The sum of a counter's samples in a Prometheus exposition. */
async function counter(serverUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  let sum = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const match = /^(\S+?)(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    seen = true;
    sum += Number(match[2]);
  }
  if (!seen) throw new Error(`/metrics has no ${name}`);
  return sum;
}

describe('operator controls in the page: deny list and reports', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dir: string;
  const blockedData = new Uint8Array(randomBytes(64 * 1024));
  let blockedInfoHash: string;

  beforeAll(async () => {
    // The infohash the page will compute for this file (same name, pieces and layout), put on
    // the deny list as a share link, as an operator would paste it.
    blockedInfoHash = (await seedable('blocked.bin', blockedData)).infoHash;
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-operator-'));
    const denyList = join(dir, 'deny-list.txt');
    await writeFile(denyList, `# reported on 2026-12-01\nhttp://share.example/#${blockedInfoHash}\n`);
    server = await startServerProcess(['--deny-list', denyList]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    const code = await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it('a blocked share: its sharer and whoever opens its link are told the operator blocked it', async () => {
    const sharer = await openPage(browser, 'sharer', {});
    await sharer.goto(server.url);
    const link = await shareBytes(sharer, 'blocked.bin', blockedData);
    expect(link.endsWith(`#${blockedInfoHash}`)).toBe(true);
    const shareAlert = sharer.locator('#share-blocked');
    await shareAlert.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await shareAlert.getAttribute('role')).toBe('alert');
    expect(await shareAlert.textContent()).toContain(BLOCKED_TEXT);
    await expect.poll(() => sharer.locator('#seed-stats').textContent()).toContain('not announced on this server');

    const opener = await openPage(browser, 'opener');
    await opener.goto(link);
    const alert = opener.locator('#download-blocked');
    await alert.waitFor({ state: 'visible', timeout: 15_000 });
    expect(await alert.getAttribute('role')).toBe('alert');
    expect(await alert.textContent()).toContain(BLOCKED_TEXT);
    await expect.poll(() => opener.locator('#download-stats').textContent()).toContain('not announced on this server');
    await Promise.all([sharer.context().close(), opener.context().close()]);
  });

  it('a share not on the list downloads, and its pages say nothing of a block', async () => {
    const data = new Uint8Array(randomBytes(64 * 1024));
    const sharer = await openPage(browser, 'sharer', {});
    await sharer.goto(server.url);
    const link = await shareBytes(sharer, 'free.bin', data);
    const downloader = await openPage(browser, 'downloader');
    await downloader.goto(link);
    const saved = await saveBytes(downloader, await firstSaveLink(downloader));
    expect(sha(saved.bytes)).toBe(sha(data));
    // By the time the file is saved, the tracker has long answered both announces: no refusal came.
    expect(await downloader.locator('#download-blocked').isHidden()).toBe(true);
    expect(await sharer.locator('#share-blocked').isHidden()).toBe(true);
    expect(await downloader.locator('#download-stats').textContent()).not.toContain('not announced');
    await Promise.all([sharer.context().close(), downloader.context().close()]);
  });

  it('"Report this link" is counted in /metrics; a flood from one address is refused, and the page says so', async () => {
    const before = await counter(server.url, 'ringswarm_reports_total');
    const page = await openPage(browser, 'reporter', {});
    // Any link will do: a report names a share, whether or not anyone serves it now.
    const { infoHash } = await seedable('reported.bin', new Uint8Array(randomBytes(1024)));
    await page.goto(`${server.url}/#${infoHash}`);

    const first = await reportShown(page, 'This link is going round a phishing forum.');
    expect(first).toMatchObject({ outcome: 'sent' });
    expect(first.message).toMatch(/^Reported/);
    expect(await page.locator('#report-form').isHidden()).toBe(true);
    await expect.poll(() => counter(server.url, 'ringswarm_reports_total')).toBe(before + 1);

    let sent = 1;
    let refused: { outcome: string | null; message: string } | null = null;
    for (let i = 0; i < FLOOD && refused === null; i++) {
      const result = await reportShown(page, `report number ${i + 2}`);
      if (result.outcome === 'sent') sent++;
      else refused = result;
    }
    expect(refused).toEqual({ outcome: 'rate-limited', message: 'Too many reports from this address, try later.' });
    // Only accepted reports are counted.
    expect(await counter(server.url, 'ringswarm_reports_total')).toBe(before + sent);
    await page.context().close();
  });
});
