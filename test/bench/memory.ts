/**
 * `npm run bench:memory`: what a large download costs the downloading page, ours and
 * WebTorrent 3's in the same run. One Chromium page seeds (--size MiB, default 1024), a page
 * in a browser of its own downloads; while it does, its JS heap (V8 heap plus ArrayBuffer
 * backing stores, through the DevTools protocol) and its renderer's resident memory (peak,
 * VmHWM from /proc) are read. Ours downloads twice: on the share link (the server's LAN
 * address, plain HTTP: pieces in IndexedDB, hashing in WebAssembly, as a person on another
 * machine has it) and on localhost (a secure context: OPFS and WebCrypto, as WebTorrent's page
 * here has it). WebTorrent uses its default browser store. Medians of --reps (3). Prints a
 * table, then one JSON line. MB = 10^6 bytes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { sampleHeap } from '../helpers/heap.js';
import { ensureAnchors, median, randomFile, requireBuild, startTrackers } from './common.js';
import { onOrigin, ourDownload, ourSeeder, wtDownload, wtSeeder } from './pages.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    reps: { type: 'string', default: '3' },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(values.size) * MiB;
const REPS = Number(values.reps);
const WAIT_MS = 900_000;
/** Only the end of a download counts here: look seldom, so the polling costs the page little. */
const WAIT = { timeoutMs: WAIT_MS, pollMs: 250 };

// --- renderer memory ---------------------------------------------------------------------------

async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (after the parenthesized command name) is the parent's pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Peak resident memory (VmHWM) of the largest renderer process under a browser's process, bytes. */
async function peakRendererRss(browserPid: number): Promise<number> {
  const seen: number[] = [];
  const walk = async (pid: number) => {
    for (const child of await childrenOf(pid)) {
      try {
        const cmdline = await readFile(`/proc/${child}/cmdline`, 'utf8');
        if (cmdline.includes('--type=renderer')) {
          const status = await readFile(`/proc/${child}/status`, 'utf8');
          const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
          seen.push(kb * 1024);
        }
      } catch {
        // the process ended meanwhile
      }
      await walk(child);
    }
  };
  await walk(browserPid);
  return Math.max(0, ...seen);
}

interface Measured {
  heapMB: number;
  v8HeapMB: number;
  rssMB: number;
  seconds: number;
}

/**
 * Runs `download` in a page of a browser of its own (so its renderer can be told apart),
 * reading heap and renderer memory until it resolves.
 */
async function measure(download: (page: Page) => Promise<unknown>): Promise<Measured> {
  const server = await chromium.launchServer({ executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true });
  const pid = server.process().pid;
  if (pid === undefined) throw new Error('no browser process id');
  const browser = await chromium.connect(server.wsEndpoint());
  try {
    const page = await (await browser.newContext()).newPage();
    const heap = await sampleHeap(page, 250);
    const started = Date.now();
    await download(page);
    const seconds = (Date.now() - started) / 1000;
    const peak = await heap.stop();
    const rss = await peakRendererRss(pid);
    return { heapMB: peak.heapWithBuffersBytes / 1e6, v8HeapMB: peak.heapBytes / 1e6, rssMB: rss / 1e6, seconds };
  } finally {
    await browser.close();
    await server.close();
  }
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  requireBuild();
  ensureAnchors();
  const dir = await mkdtemp(join(tmpdir(), 'ringswarm-bench-memory-'));
  const children: ChildProcess[] = [];
  let pages: Server | undefined;
  let seeders: Browser | undefined;
  try {
    const file = join(dir, 'big.bin');
    await randomFile(file, SIZE);

    const started = await startTrackers(children);
    const ourUrl = started.ourUrl;
    pages = started.pages;
    const wtPage = `${started.pagesBase}/wt.html?tracker=${encodeURIComponent(started.btTracker)}`;
    seeders = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true });

    const oursRuns: Measured[] = [];
    const localRuns: Measured[] = [];
    const wtRuns: Measured[] = [];
    for (let r = 0; r < REPS; r++) {
      const seeder = await ourSeeder(seeders, ourUrl, file, { timeoutMs: WAIT_MS });
      oursRuns.push(await measure((page) => ourDownload(page, seeder.link, WAIT)));
      localRuns.push(await measure((page) => ourDownload(page, onOrigin(seeder.link, ourUrl), WAIT)));
      await seeder.page.context().close();
      const wseed = await wtSeeder(seeders, wtPage, file);
      wtRuns.push(await measure((page) => wtDownload(page, wtPage, wseed.magnet, WAIT)));
      await wseed.page.context().close();
      const o = oursRuns.at(-1)!;
      const l = localRuns.at(-1)!;
      const w = wtRuns.at(-1)!;
      process.stderr.write(
        `rep ${r + 1}: ours heap ${o.heapMB.toFixed(1)} MB (V8 ${o.v8HeapMB.toFixed(1)}), renderer RSS ${o.rssMB.toFixed(0)} MB, ${o.seconds.toFixed(1)} s; ` +
          `on localhost heap ${l.heapMB.toFixed(1)} MB, ${l.seconds.toFixed(1)} s; ` +
          `WebTorrent heap ${w.heapMB.toFixed(1)} MB (V8 ${w.v8HeapMB.toFixed(1)}), renderer RSS ${w.rssMB.toFixed(0)} MB, ${w.seconds.toFixed(1)} s\n`,
      );
    }

    const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
    const pick = (runs: Measured[], key: keyof Measured) => round(median(runs.map((m) => m[key])));
    const row = (name: string, runs: Measured[]) =>
      `${name.padEnd(12)} ${String(pick(runs, 'heapMB')).padStart(10)} ${String(pick(runs, 'v8HeapMB')).padStart(10)} ` +
      `${String(pick(runs, 'rssMB')).padStart(12)} ${String(pick(runs, 'seconds')).padStart(8)}`;
    console.log(
      `\nmemory benchmark: one ${SIZE / MiB} MiB download in Chromium, peaks, medians of ${REPS}, MB = 10^6 bytes`,
    );
    console.log(
      `${''.padEnd(12)} ${'JS heap'.padStart(10)} ${'V8 only'.padStart(10)} ${'renderer RSS'.padStart(12)} ${'seconds'.padStart(8)}`,
    );
    console.log(row('ringswarm', oursRuns));
    console.log(row('  localhost', localRuns));
    console.log(row('WebTorrent 3', wtRuns));
    console.log(
      'JS heap = V8 heap + ArrayBuffer backing stores (Runtime.getHeapUsage); RSS = peak VmHWM of the renderer',
    );
    const oursHeap = pick(oursRuns, 'heapMB');
    const wtHeap = pick(wtRuns, 'heapMB');
    console.log(
      JSON.stringify({
        size_mib: SIZE / MiB,
        reps: REPS,
        ours_heap_mb: oursHeap,
        webtorrent_heap_mb: wtHeap,
        ours_rss_mb: pick(oursRuns, 'rssMB'),
        webtorrent_rss_mb: pick(wtRuns, 'rssMB'),
        ours_v8_heap_mb: pick(oursRuns, 'v8HeapMB'),
        webtorrent_v8_heap_mb: pick(wtRuns, 'v8HeapMB'),
        ours_seconds: pick(oursRuns, 'seconds'),
        webtorrent_seconds: pick(wtRuns, 'seconds'),
        heap_ratio: round(oursHeap / wtHeap, 2),
        // The same download on localhost (OPFS, WebCrypto), a secure context like WebTorrent's page.
        ours_localhost_heap_mb: pick(localRuns, 'heapMB'),
        ours_localhost_rss_mb: pick(localRuns, 'rssMB'),
        ours_localhost_seconds: pick(localRuns, 'seconds'),
        target_met: oursHeap <= 150 && oursHeap <= wtHeap,
      }),
    );
  } finally {
    await seeders?.close();
    pages?.close();
    for (const c of children) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:memory: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
