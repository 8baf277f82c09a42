/**
 * The web client as a person uses it, in real Chromium against the real server: a folder
 * shared and downloaded file by file, a reload in the middle of a download, the error and
 * waiting messages, and the memory a large download costs the page (pieces live in OPFS).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleHeap } from '../helpers/heap.js';
import {
  clickDownload,
  figures,
  launchChromium,
  openPage,
  paintedMap,
  saveBytes,
  setUploadLimit,
  shareLink,
} from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const MiB = 1024 * 1024;
const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const shaOfFile = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => hash.update(c))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });

describe('the web client', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    server = await startServerProcess();
    browser = await launchChromium();
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-web-'));
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const newPage = (viewport = { width: 1280, height: 900 }): Promise<Page> =>
    openPage(browser, 'page', { acceptDownloads: true, viewport });

  /** Picks `path` (a file, or a folder with `folder`) on a new page; returns it and its link. */
  async function share(
    path: string,
    folder = false,
    beforePick?: (page: Page) => Promise<void>,
  ): Promise<{ page: Page; link: string }> {
    const page = await newPage();
    await page.goto(server.url);
    await beforePick?.(page);
    await page.setInputFiles(folder ? '#folder-input' : '#file-input', path);
    return { page, link: await shareLink(page, 120_000) };
  }

  it('shares a folder; the downloader sees every file, escaped, picks which to save, and gets the same bytes', async () => {
    const root = join(dir, 'album');
    await mkdir(join(root, 'sub'), { recursive: true });
    const files: Record<string, Uint8Array> = {
      'album/a.bin': new Uint8Array(randomBytes(1.5 * MiB)),
      'album/sub/b.bin': new Uint8Array(randomBytes(700 * 1024)),
      'album/notes <img src=x onerror=alert(1)> & co.txt': new TextEncoder().encode('a file name with markup in it\n'),
      'album/empty.txt': new Uint8Array(0),
    };
    for (const [path, data] of Object.entries(files)) await writeFile(join(dir, path), data);

    const { page: seeder, link } = await share(root, true);
    const leecher = await newPage();
    await leecher.goto(link);
    const saves = leecher.locator('#save-links a');
    await expect.poll(() => saves.count(), { timeout: 45_000 }).toBe(4);

    // The list shows each path as text: the markup in a name is not parsed.
    const listed = await leecher.locator('#save-links li .filename').allTextContents();
    expect(listed.sort()).toEqual(Object.keys(files).sort());
    expect(await leecher.locator('#save-links img').count()).toBe(0);
    expect(await leecher.locator('#download-name').textContent()).toMatch(/^album \(/);

    // Unticking a file withdraws its save link; ticking it again brings it back.
    const emptyRow = leecher.locator('#save-links li', { hasText: 'empty.txt' });
    await emptyRow.getByRole('checkbox').uncheck();
    await expect.poll(() => saves.count()).toBe(3);
    expect(await emptyRow.locator('a').count()).toBe(0);
    await emptyRow.getByRole('checkbox').check();
    await expect.poll(() => saves.count()).toBe(4);

    for (const [path, data] of Object.entries(files)) {
      const a = leecher.locator('#save-links li', { hasText: path }).locator('a');
      const saved = await saveBytes(leecher, a);
      // Saved under the last segment of its path, with characters Windows refuses replaced.
      expect(saved.name).toBe(path.split('/').pop()!.replace(/[<>]/g, '_'));
      expect(sha(saved.bytes)).toBe(sha(data));
    }

    // Panels: the peer is listed with its connection badge from getStats (two pages of one
    // machine: host candidates on both ends, "same network"), the candidate pair in its title
    // and shown on tap; the transfer-wide badge says the same; the seeding panel lists the
    // share, the figures show seeders.
    const badge = leecher.locator('#peers-table tbody tr td.conn [data-badge]').first();
    await expect.poll(() => badge.getAttribute('data-badge'), { timeout: 10_000 }).toBe('same-network');
    expect(await badge.textContent()).toBe('same network');
    // The tooltip names the candidate pair: a host candidate at each end.
    expect((await badge.getAttribute('title'))?.match(/\bhost\b/g)).toHaveLength(2);
    await badge.click();
    await expect.poll(() => leecher.locator('#peers-table tbody tr .pair-detail').first().isVisible()).toBe(true);
    const overall = leecher.locator('#connection-badge');
    await expect.poll(() => overall.getAttribute('data-badge')).toBe('same-network');
    expect(await overall.textContent()).toBe('same network');
    await expect.poll(() => leecher.locator('#fig-seeders').textContent(), { timeout: 5_000 }).toBe('1');
    await expect
      .poll(() => seeder.locator('#seeding-table tbody tr').first().textContent(), { timeout: 5_000 })
      .toContain('album');
    expect(await leecher.locator('#speed-chart canvas').count()).toBeGreaterThan(0);

    // Stop sharing from the seeding panel: the seeder leaves the swarm.
    await seeder.getByRole('button', { name: 'Stop sharing album' }).click();
    await expect.poll(() => seeder.locator('#seeding-table tbody tr').count()).toBe(0);
    await expect.poll(() => leecher.locator('#peers-empty').isVisible(), { timeout: 15_000 }).toBe(true);
    await seeder.context().close();
    await leecher.context().close();
  }, 120_000);

  it('fetches only the files left ticked, and the others once they are ticked again', async () => {
    const root = join(dir, 'pick');
    await mkdir(root, { recursive: true });
    const a = new Uint8Array(randomBytes(4 * MiB));
    const b = new Uint8Array(randomBytes(16 * MiB));
    await writeFile(join(root, 'a.bin'), a);
    await writeFile(join(root, 'b.bin'), b);
    const { page: seeder, link } = await share(root, true);
    await setUploadLimit(seeder, 1_000_000);
    const leecher = await newPage();
    await leecher.goto(link);
    const rowB = leecher.locator('#save-links li', { hasText: 'pick/b.bin' });
    await rowB.getByRole('checkbox').uncheck({ timeout: 30_000 });

    const status = leecher.locator('#status');
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toMatch(/ticked files are downloaded/);
    const partial = (await figures(leecher))!;
    // 32 KiB pieces: 128 of a.bin, 512 of b.bin. Of b.bin, only what was asked for before the
    // untick came in.
    expect(partial.pieceCount).toBe(640);
    expect(partial.done).toBe(false);
    expect(partial.piecesHave).toBeGreaterThanOrEqual(128);
    expect(partial.piecesHave).toBeLessThan(128 + 128);
    // Three seconds more at 1 MB/s would bring some 90 more pieces if b.bin were still being
    // fetched; only pieces already started at the untick are finished (at most one per block
    // in flight: 32).
    await leecher.waitForTimeout(3_000);
    const later = (await figures(leecher))!;
    expect(later.piecesHave - partial.piecesHave).toBeLessThanOrEqual(32);
    expect(later.done).toBe(false);
    // The piece map repaints only the cells that changed: it shows what is held, cell by piece.
    const map = await paintedMap(leecher, 640);
    expect(map.perRow * 16).toBeGreaterThanOrEqual(640);
    expect(map).toMatchObject({ held: later.piecesHave, missing: 640 - later.piecesHave, other: 0 });
    expect(await rowB.locator('a').count()).toBe(0);
    expect(await rowB.locator('.file-state').textContent()).toBe('not downloaded');

    await setUploadLimit(seeder, null);
    await rowB.getByRole('checkbox').check();
    await expect.poll(async () => (await figures(leecher))?.done, { timeout: 30_000 }).toBe(true);
    await expect.poll(async () => (await paintedMap(leecher, 640)).held, { timeout: 5_000 }).toBe(640);
    for (const [name, data] of [
      ['a.bin', a],
      ['b.bin', b],
    ] as const) {
      const save = leecher.locator('#save-links li', { hasText: `pick/${name}` }).locator('a');
      expect(sha((await saveBytes(leecher, save)).bytes)).toBe(sha(data));
    }
    await seeder.context().close();
    await leecher.context().close();
  }, 120_000);

  it('a reload in the middle of a download resumes from the verified pieces instead of fetching them again', async () => {
    const data = new Uint8Array(randomBytes(24 * MiB));
    const file = join(dir, 'resume.bin');
    await writeFile(file, data);
    const { page: seeder, link } = await share(file);
    // Slow the seeder down so that the reload lands mid-download.
    await setUploadLimit(seeder, 2_000_000);

    const leecher = await newPage();
    await leecher.goto(link);
    await expect.poll(async () => (await figures(leecher))?.piecesHave ?? 0, { timeout: 45_000 }).toBeGreaterThan(200);
    const before = (await figures(leecher))!;
    expect(before.storage).toBe('opfs');
    expect(before.resumedPieces).toBe(0);
    expect(before.done).toBe(false);

    await leecher.reload();
    await expect.poll(() => figures(leecher), { timeout: 30_000 }).not.toBeNull();
    const resumed = (await figures(leecher))!;
    // Every piece verified before the reload was found again and re-verified...
    expect(resumed.resumedPieces).toBeGreaterThanOrEqual(before.piecesHave);
    expect(resumed.resumedPieces).toBeLessThan(resumed.pieceCount!);
    await expect
      .poll(() => leecher.locator('#download-stats').textContent())
      .toMatch(/pieces? resumed from this browser/);

    // The only seeder stops sharing mid-download: the page says so and keeps waiting...
    expect((await figures(leecher))!.done).toBe(false);
    await seeder.getByRole('button', { name: 'Stop sharing resume.bin' }).click();
    const status = leecher.locator('#status');
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toMatch(/All peers have left/);
    expect(await status.getAttribute('data-kind')).toBe('wait');
    // ...and goes on when the file is shared again.
    await seeder.setInputFiles('#file-input', file);

    await expect.poll(async () => (await figures(leecher))?.done, { timeout: 60_000 }).toBe(true);
    const after = (await figures(leecher))!;
    // ...and only the rest came from the peer: the bytes received after the reload are
    // exactly the file minus what was resumed.
    expect(after.downloaded).toBe(after.length! - resumed.resumedBytes);
    console.log(
      `resume: ${before.piecesHave} pieces held at the reload, ${resumed.resumedPieces} re-verified from OPFS, ` +
        `${after.downloaded} of ${after.length} bytes fetched after it`,
    );

    const a = leecher.locator('#save-links a').first();
    expect(sha((await saveBytes(leecher, a)).bytes)).toBe(sha(data));
    await seeder.context().close();
    await leecher.context().close();
  }, 120_000);

  it('says what is wrong with a malformed link, and that it keeps waiting when nobody shares a file yet', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/#${'ab'.repeat(20)}`);
    const status = page.locator('#status');
    await expect.poll(() => status.textContent()).toMatch(/link is malformed: .*64 hexadecimal/);
    expect(await status.getAttribute('data-kind')).toBe('error');
    expect(await page.locator('#share-section').isHidden()).toBe(true);

    await page.context().close();

    const waiting = await newPage();
    await waiting.goto(`${server.url}/#${'cd'.repeat(32)}`);
    const waitingStatus = waiting.locator('#status');
    await expect
      .poll(() => waitingStatus.textContent(), { timeout: 15_000 })
      .toMatch(/No one sharing this file is online yet/);
    expect(await waitingStatus.getAttribute('data-kind')).toBe('wait');
    expect(await waiting.locator('#download-section').isVisible()).toBe(true);
    // This server hands out no STUN/TURN servers, and the page says what that means.
    expect(await waiting.locator('#network-note').textContent()).toBe(
      'No STUN/TURN configured: only peers on the same network can connect.',
    );
    await waiting.context().close();
  });

  it('says so when the browser will not store more', async () => {
    const file = join(dir, 'quota.bin');
    await writeFile(file, randomBytes(6 * MiB));
    const { page: seeder, link } = await share(file);
    const leecher = await newPage();
    // The browser grants this origin 2 MiB (in this profile only).
    const cdp = await leecher.context().newCDPSession(leecher);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(server.url).origin, quotaSize: 2 * MiB });
    await leecher.goto(link);
    const status = leecher.locator('#status');
    // A piece write is refused (QuotaExceededError), and the page names the cause.
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toMatch(/^Storage quota exceeded/);
    expect(await status.getAttribute('data-kind')).toBe('error');
    expect((await figures(leecher))!.done).toBe(false);
    // It stops asking for pieces it could not store anyway: nothing in flight, nothing more received.
    const traffic = () =>
      leecher.evaluate(() => {
        type Peer = { inflight: number; downloaded: number };
        const w = window as unknown as { ringswarm: { download: { swarm: { peerStats(): Peer[] } } } };
        const peers = w.ringswarm.download.swarm.peerStats();
        return {
          inflight: peers.reduce((sum, p) => sum + p.inflight, 0),
          received: peers.reduce((sum, p) => sum + p.downloaded, 0),
        };
      });
    await expect.poll(async () => (await traffic()).inflight, { timeout: 10_000 }).toBe(0);
    const settled = await traffic();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await traffic()).toEqual(settled);
    await seeder.context().close();
    await leecher.context().close();
  });

  it('asks the server for STUN over HTTP, then STUN/TURN over its socket, with TURN credentials for its peer ID', async () => {
    const withTurn = await startServerProcess([
      '--stun-url',
      'stun:192.0.2.1:3478',
      '--turn-url',
      'turn:192.0.2.1:3478?transport=udp',
      '--turn-secret',
      'e2e-secret',
    ]);
    try {
      const page = await newPage();
      const answer = page.waitForResponse((r) => r.url().includes('/api/ice'));
      // Every frame the tracker sends the page over its socket.
      const frames: string[] = [];
      page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
      await page.goto(withTurn.url);
      const response = await answer;
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ iceServers: [{ urls: ['stun:192.0.2.1:3478'] }], ttl: 0 });
      for (const leak of ['turn:', 'username', 'credential']) expect(text).not.toContain(leak);
      const peerId = await page.evaluate(
        () => (window as unknown as { ringswarm: { client: { peerId: string } } }).ringswarm.client.peerId,
      );
      // The socket's `ice` answer: STUN and TURN, the TURN username labelled with the page's peer ID.
      const isIceAck = (f: string) => f.includes('"iceServers"');
      await expect.poll(() => frames.some(isIceAck), { timeout: 10_000 }).toBe(true);
      const ack = frames.find(isIceAck)!;
      const body = JSON.parse(ack.slice(ack.indexOf('['))) as [
        { ok: boolean; ttl: number; iceServers: { urls: string[]; username?: string }[] },
      ];
      expect(body[0].ok).toBe(true);
      expect(body[0].ttl).toBe(600);
      expect(body[0].iceServers.map((s) => s.urls[0])).toEqual([
        'stun:192.0.2.1:3478',
        'turn:192.0.2.1:3478?transport=udp',
      ]);
      expect(body[0].iceServers[1]!.username).toMatch(new RegExp(`^\\d+:${peerId}$`));
      expect(await page.locator('#network-note').isHidden()).toBe(true);
      await page.context().close();
    } finally {
      await withTurn.stop();
    }
  });

  it('a 256 MiB download keeps the page heap under 100 MB; screenshots of the download view', async () => {
    const size = 256 * MiB;
    const file = join(dir, 'big.bin');
    await writeFile(file, randomBytes(size));
    const expected = await shaOfFile(file);
    // While the seeder hashes 256 MiB, its page keeps responding: the progress bar moves and
    // no main-thread task runs long.
    const { page: seeder, link } = await share(file, false, (page) =>
      page.evaluate(() => {
        const w = window as unknown as { hashValues: number[]; longestTaskMs: number };
        w.hashValues = [];
        w.longestTaskMs = 0;
        const bar = document.getElementById('hash-progress') as HTMLProgressElement;
        new MutationObserver(() => w.hashValues.push(bar.value)).observe(bar, { attributes: true });
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.longestTaskMs = Math.max(w.longestTaskMs, e.duration);
        }).observe({ type: 'longtask' });
      }),
    );
    const hashing = await seeder.evaluate(() => {
      const w = window as unknown as { hashValues: number[]; longestTaskMs: number };
      return { hashValues: w.hashValues, longestTaskMs: w.longestTaskMs };
    });
    console.log(
      `hashing 256 MiB: ${hashing.hashValues.length} progress updates, longest main-thread task ${hashing.longestTaskMs} ms`,
    );
    expect(hashing.hashValues.filter((v) => v > 0 && v < 1).length).toBeGreaterThan(3);
    expect(hashing.longestTaskMs).toBeLessThan(200);

    const leecher = await newPage();
    const heap = await sampleHeap(leecher);
    await leecher.goto(link);
    await expect.poll(async () => (await figures(leecher))?.piecesHave ?? 0, { timeout: 60_000 }).toBeGreaterThan(60);
    // Mid-download, with speeds, peers and the piece map filled in.
    await leecher.waitForTimeout(1_500);
    await leecher.screenshot({ path: join(ARTIFACTS, 'download-desktop.png'), fullPage: true });
    await leecher.setViewportSize({ width: 390, height: 844 });
    await leecher.waitForTimeout(300);
    await leecher.screenshot({ path: join(ARTIFACTS, 'download-phone.png'), fullPage: true });
    // Nothing scrolls sideways on a phone.
    expect(await leecher.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await leecher.setViewportSize({ width: 1280, height: 900 });

    await expect.poll(async () => (await figures(leecher))?.done, { timeout: 180_000, interval: 500 }).toBe(true);
    const peak = await heap.stop();
    const f = (await figures(leecher))!;
    expect(f.storage).toBe('opfs');
    expect(f.length).toBe(size);
    console.log(
      `256 MiB download: peak JS heap ${(peak.heapBytes / 1e6).toFixed(1)} MB, ` +
        `with ArrayBuffers ${(peak.heapWithBuffersBytes / 1e6).toFixed(1)} MB (${peak.samples} samples)`,
    );
    expect(peak.samples).toBeGreaterThan(10);
    expect(peak.heapWithBuffersBytes).toBeLessThan(100e6);

    // Saved from OPFS, byte for byte.
    const a = leecher.locator('#save-links a').first();
    await a.waitFor({ state: 'visible', timeout: 30_000 });
    const download = await clickDownload(leecher, a);
    expect(await shaOfFile((await download.path())!)).toBe(expected);
    await leecher.screenshot({ path: join(ARTIFACTS, 'download-done-desktop.png'), fullPage: true });
    await seeder.context().close();
    await leecher.context().close();
  }, 300_000);
});
