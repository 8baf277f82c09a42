import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RingStats } from '@ringswarm/shared';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { CliProcess } from '../helpers/cli-process.js';
import { noteShare } from '../helpers/leak-check.js';
import { ringProblems } from '../helpers/ring-check.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sleep } from '../helpers/until.js';

const NODE_PEERS = 16;
const SEEDERS = 4;
const KILLED = 5; // 30% of the Node peers

interface PageClient {
  ringStats(): RingStats | null;
  findProviders(infoHash: string): Promise<string[]>;
}
declare global {
  interface Window {
    ringswarm?: { client: PageClient };
  }
}

describe('16 Node peers and 2 Chromium pages (its leaves) in one ring', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dir: string;
  const procs: CliProcess[] = [];
  const pages: Page[] = [];

  beforeAll(async () => {
    const executablePath = findChromium();
    server = await startServerProcess();
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-e2e-ring-'));
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await browser?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A Node peer's latest view of the ring, from its `ring` JSON events. */
  const nodeView = (p: CliProcess): RingStats | null => {
    const last = p.events.findLast((e) => e.event === 'ring');
    return last ? (last as unknown as RingStats) : null;
  };
  const pageView = (page: Page) => page.evaluate(() => window.ringswarm!.client.ringStats());
  const views = async (nodes: CliProcess[], withPages = true) => [
    ...nodes.map(nodeView),
    ...(withPages ? await Promise.all(pages.map(pageView)) : []),
  ];
  /** Providers of `infoHash` as a page finds them in the DHT. */
  const findProviders = (page: Page, infoHash: string): Promise<string[]> =>
    page.evaluate((h) => window.ringswarm!.client.findProviders(h), infoHash);
  async function untilCorrect(nodes: CliProcess[], ms: number, withPages = true): Promise<number> {
    const started = Date.now();
    let problems: string[] = ['no views yet'];
    while (Date.now() - started < ms) {
      const all = await views(nodes, withPages);
      problems = all.includes(null) ? ['a peer has not reported'] : ringProblems(all as RingStats[]);
      if (problems.length === 0) return Date.now() - started;
      await sleep(100);
    }
    throw new Error(`ring not correct after ${ms} ms: ${problems.slice(0, 6).join('; ')}`);
  }

  it('join through the tracker, form one correct ring, and heal after 30% of the Node peers die at once', async () => {
    const seeded: { proc: CliProcess; infoHash: string }[] = [];
    for (let i = 0; i < NODE_PEERS; i++) {
      if (i < SEEDERS) {
        const file = join(dir, `file-${i}.bin`);
        await writeFile(file, randomBytes(256 * 1024));
        const proc = new CliProcess(['seed', file, '--tracker', server.url, '--json']);
        procs.push(proc);
        const ev = await proc.next((e) => e.event === 'seeding', 30_000, 'the link');
        seeded.push({ proc, infoHash: String(ev.infoHash) });
        noteShare(String(ev.infoHash));
      } else {
        procs.push(new CliProcess(['ring', '--tracker', server.url, '--json']));
      }
    }
    // The pages come once the Node peers' ring has formed: a ring that small has them join as
    // members; this one has room for them as leaves.
    await untilCorrect(procs, 60_000);
    for (let i = 0; i < 2; i++) {
      const page = await (await browser.newContext()).newPage();
      await page.goto(server.url);
      // The page creates its client once it has asked the server for ICE servers.
      await page.waitForFunction(() => window.ringswarm?.client !== undefined, undefined, { timeout: 15_000 });
      pages.push(page);
    }
    const formedMs = await untilCorrect(procs, 60_000);
    const all = (await views(procs)) as RingStats[];
    expect(new Set(all.map((v) => v.id)).size).toBe(NODE_PEERS + 2);
    expect(ringProblems(all)).toEqual([]);
    // A ring of 16 has room for leaves: each page routes through the member before its ID
    // (ringProblems checked which), with one ring link; the Node peers are members.
    const pageViews = all.slice(NODE_PEERS);
    expect(pageViews.map((v) => v.leaf)).toEqual([true, true]);
    expect(all.slice(0, NODE_PEERS).every((v) => !v.leaf)).toBe(true);

    // Every seeder's provider record is in the DHT.
    for (const { proc, infoHash } of seeded) {
      const id = nodeView(proc)!.id;
      await expect.poll(() => findProviders(pages[0]!, infoHash), { timeout: 15_000 }).toContain(id);
    }

    // Kill 30% of the Node peers at once (SIGKILL: no goodbye): one seeder and four others.
    const victims = [
      seeded[0]!.proc,
      ...procs
        .slice(SEEDERS)
        .sort(() => Math.random() - 0.5)
        .slice(0, KILLED - 1),
    ];
    await Promise.all(victims.map((p) => p.stop('SIGKILL')));
    const survivors = procs.filter((p) => !victims.includes(p));
    const healedMs = await untilCorrect(survivors, 10_000, false);
    // A page is a leaf: one whose gateway was killed notices only when WebRTC gives up on the
    // link (Chrome: about 30 s of silence), then attaches to the member before it now. The
    // members' neighbour watch (a ping after 4 s of silence) is not run by leaves (README,
    // "the overlay on simulated links").
    const pagesMs = await untilCorrect(survivors, 45_000);

    // Files held by surviving peers are still found through the DHT.
    for (const { proc, infoHash } of seeded.slice(1)) {
      const id = nodeView(proc)!.id;
      await expect.poll(() => findProviders(pages[1]!, infoHash), { timeout: 15_000 }).toContain(id);
    }
    console.log(
      `ring of ${NODE_PEERS}+2 correct ${formedMs} ms after the last join; healed ${healedMs} ms after ${KILLED} kills, pages ${pagesMs} ms later`,
    );
  }, 180_000);
});
