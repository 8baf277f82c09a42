/**
 * `npm run bench:crowd`: a flash crowd. One seeder whose upload is capped at --limit MB/s
 * (1), N leechers that all start together on a --size MiB file (32). A swarm should serve
 * them nearly as fast as the seeder alone could serve one, because leechers pass pieces on;
 * a capped HTTP server serves N clients N times slower.
 *
 * 1. ringswarm, N = 2, 4, 8 Node peers (`ringswarm seed --upload-limit B` and N `ringswarm get`);
 * 2. the same N clients (Node processes) fetching the file over HTTP from a server capped at B;
 * 3. N = 4 Chromium pages: ours (a page seeder capped at B) and WebTorrent's (its page, capped
 *    the same way, on bittorrent-tracker).
 *
 * crowd efficiency = (size / B) / T_last, T_last the time from starting the leechers to the last
 * one holding the whole file: 1.0 is every leecher as fast as if it had the seeder alone;
 * client-server gives 1/N. The seeder's upload over the file's size says how many times it sent
 * each byte. Medians of --reps (3) for the swarms; the HTTP rounds run once (a capped stream has
 * nothing to spread). Prints a table, then one JSON line. MB = 10^6 bytes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { CliProcess } from '../helpers/cli-process.js';
import { ensureAnchors, median, randomFile, requireBuild, startTrackers } from './common.js';
import { ourDownload, ourSeeder, wtDownload, wtSeeder } from './pages.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '32' },
    limit: { type: 'string', default: '1' },
    reps: { type: 'string', default: '3' },
    ns: { type: 'string', default: '2,4,8' },
    'page-n': { type: 'string', default: '4' },
    'no-http': { type: 'boolean', default: false },
    'no-pages': { type: 'boolean', default: false },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(values.size) * MiB;
const LIMIT = Math.round(Number(values.limit) * 1e6);
const REPS = Number(values.reps);
const NS = values.ns.split(',').map(Number);
const PAGE_N = Number(values['page-n']);
/** The time one leecher alone would take from the capped seeder. */
const IDEAL_S = SIZE / LIMIT;
const WAIT_MS = Math.max(300_000, IDEAL_S * 1000 * 20);

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Round {
  lastS: number;
  /** Bytes the seeder sent over the file's size (1.0: each byte once). */
  seederCopies: number;
}

/** Stops every CLI process, waiting for each. */
const stopAll = (procs: CliProcess[]) => Promise.all(procs.map((p) => p.stop()));

/** One seeder capped at the limit and `n` CLI leechers started together. */
async function cliRound(dir: string, file: string, tracker: string, n: number): Promise<Round> {
  const procs: CliProcess[] = [];
  try {
    const seeder = new CliProcess([
      'seed',
      file,
      '--tracker',
      tracker,
      '--upload-limit',
      String(LIMIT),
      '--no-ring',
      '--json',
    ]);
    procs.push(seeder);
    const link = String((await seeder.next((e) => e.event === 'seeding', WAIT_MS, 'the share link')).link);
    const started = Date.now();
    const leechers = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const out = join(dir, 'leechers', String(i));
        await mkdir(out, { recursive: true });
        const p = new CliProcess(['get', link, '--out', out, '--no-ring', '--json']);
        procs.push(p);
        return p;
      }),
    );
    const finished = await Promise.all(
      leechers.map((p) => p.next((e) => e.event === 'done', WAIT_MS, 'the download').then(() => Date.now())),
    );
    const lastS = (Math.max(...finished) - started) / 1000;
    // The seeder's progress comes twice a second: take one drawn after the last leecher finished.
    await new Promise((r) => setTimeout(r, 1_500));
    const last = seeder.events.filter((e) => e.event === 'progress' && typeof e.uploaded === 'number').at(-1);
    return { lastS, seederCopies: Number(last?.uploaded ?? 0) / SIZE };
  } finally {
    await stopAll(procs);
  }
}

/**
 * Serves `file` to every client at once from one upload capped at `limit` bytes per second:
 * each 64 KiB chunk of any response waits for its turn on a shared clock, so the streams share
 * the cap evenly, as leechers share a capped seeder.
 */
function cappedHttpServer(file: string, limit: number): Promise<Server> {
  const CHUNK = 64 * 1024;
  let nextFree = 0;
  const turn = (bytes: number) => {
    const now = performance.now();
    const start = Math.max(nextFree, now);
    nextFree = start + (bytes / limit) * 1000;
    return new Promise<void>((resolve) => setTimeout(resolve, start - now));
  };
  const server = createServer(async (req, res) => {
    const size = (await stat(file)).size;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    const stream = createReadStream(file, { highWaterMark: CHUNK });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      await turn(chunk.length);
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      if (req.destroyed) break;
    }
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A Node process that fetches `url` into a file and exits 0 once the last byte is written. */
function httpClient(url: string, out: string): ChildProcess {
  const script = `
    const { createWriteStream } = require('node:fs');
    const { Readable } = require('node:stream');
    const { pipeline } = require('node:stream/promises');
    fetch(process.argv[1]).then((r) => { if (!r.ok) throw new Error('HTTP ' + r.status); return pipeline(Readable.fromWeb(r.body), createWriteStream(process.argv[2])); })
      .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
  return spawn(process.execPath, ['-e', script, url, out], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** N HTTP clients started together against the capped server; seconds until the last is done. */
async function httpRound(dir: string, url: string, n: number, children: ChildProcess[]): Promise<number> {
  const started = Date.now();
  const ends = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const child = httpClient(url, join(dir, `http-${n}-${i}.bin`));
      children.push(child);
      return new Promise<number>((resolve, reject) =>
        child.once('exit', (code) =>
          code === 0 ? resolve(Date.now()) : reject(new Error(`HTTP client exited ${code}`)),
        ),
      );
    }),
  );
  return (Math.max(...ends) - started) / 1000;
}

/** Opens `n` pages at once and runs `download` in each; seconds until the last is done. */
async function pagesRound(browser: Browser, n: number, download: (page: Page) => Promise<unknown>): Promise<number> {
  const contexts = await Promise.all(Array.from({ length: n }, () => browser.newContext()));
  try {
    const pages = await Promise.all(contexts.map((c) => c.newPage()));
    const started = Date.now();
    const ends = await Promise.all(pages.map((p) => download(p).then(() => Date.now())));
    return (Math.max(...ends) - started) / 1000;
  } finally {
    await Promise.all(contexts.map((c) => c.close()));
  }
}

async function main(): Promise<void> {
  requireBuild();
  ensureAnchors();
  const dir = await mkdtemp(join(tmpdir(), 'ringswarm-crowd-'));
  const children: ChildProcess[] = [];
  let pages: Server | undefined;
  let http: Server | undefined;
  let browser: Browser | undefined;
  try {
    const file = join(dir, 'crowd.bin');
    await randomFile(file, SIZE);
    const trackers = await startTrackers(children);
    pages = trackers.pages;

    // 1. ringswarm CLI crowds.
    const cli: Record<string, Round> = {};
    for (const n of NS) {
      const rounds: Round[] = [];
      for (let r = 0; r < REPS; r++) {
        const got = await cliRound(dir, file, trackers.ourUrl, n);
        rounds.push(got);
        await rm(join(dir, 'leechers'), { recursive: true, force: true });
        process.stderr.write(
          `rep ${r + 1} CLI N=${n}: last leecher after ${got.lastS.toFixed(1)} s (ideal ${IDEAL_S.toFixed(1)} s), ` +
            `seeder sent ${got.seederCopies.toFixed(2)}x the file\n`,
        );
      }
      cli[n] = { lastS: median(rounds.map((x) => x.lastS)), seederCopies: median(rounds.map((x) => x.seederCopies)) };
    }

    // 2. HTTP from a server capped the same way.
    const httpLast: Record<string, number> = {};
    if (!values['no-http']) {
      http = await cappedHttpServer(file, LIMIT);
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/crowd.bin`;
      for (const n of NS) {
        httpLast[n] = await httpRound(dir, url, n, children);
        process.stderr.write(`HTTP N=${n}: last client after ${httpLast[n]!.toFixed(1)} s\n`);
      }
    }

    // 3. Pages: ours and WebTorrent's.
    let oursPages: number | null = null;
    let wtPages: number | null = null;
    if (!values['no-pages']) {
      browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true });
      const wait = { timeoutMs: WAIT_MS, pollMs: 50 };
      const wtPage = (limit: number | null) =>
        `${trackers.pagesBase}/wt.html?tracker=${encodeURIComponent(trackers.btTracker)}${limit === null ? '' : `&uploadLimit=${limit}`}`;
      const ours: number[] = [];
      const wt: number[] = [];
      for (let r = 0; r < REPS; r++) {
        const seeder = await ourSeeder(browser, trackers.ourUrl, file, { timeoutMs: WAIT_MS, uploadLimit: LIMIT });
        ours.push(await pagesRound(browser, PAGE_N, (p) => ourDownload(p, seeder.link, wait)));
        await seeder.page.context().close();
        const wseed = await wtSeeder(browser, wtPage(LIMIT), file);
        wt.push(await pagesRound(browser, PAGE_N, (p) => wtDownload(p, wtPage(null), wseed.magnet, wait)));
        await wseed.page.context().close();
        process.stderr.write(
          `rep ${r + 1} pages N=${PAGE_N}: ringswarm last after ${ours.at(-1)!.toFixed(1)} s, WebTorrent ${wt.at(-1)!.toFixed(1)} s\n`,
        );
      }
      oursPages = median(ours);
      wtPages = median(wt);
    }

    const eff = (s: number) => round(IDEAL_S / s);
    console.log(
      `\ncrowd benchmark: one seeder capped at ${LIMIT / 1e6} MB/s, ${SIZE / MiB} MiB, ideal ${IDEAL_S.toFixed(1)} s per leecher, medians of ${REPS}`,
    );
    console.log('N   ringswarm CLI: last   efficiency   seeder sent   HTTP: last   efficiency');
    for (const n of NS) {
      const h = httpLast[n];
      console.log(
        `${String(n).padEnd(4)}${`${cli[n]!.lastS.toFixed(1)} s`.padStart(19)}${String(eff(cli[n]!.lastS)).padStart(13)}` +
          `${`${cli[n]!.seederCopies.toFixed(2)}x`.padStart(14)}${(h === undefined ? '-' : `${h.toFixed(1)} s`).padStart(13)}` +
          `${(h === undefined ? '-' : String(eff(h))).padStart(13)}`,
      );
    }
    if (oursPages !== null && wtPages !== null) {
      console.log(
        `${PAGE_N} Chromium pages: ringswarm ${oursPages.toFixed(1)} s (efficiency ${eff(oursPages)})   ` +
          `WebTorrent ${wtPages.toFixed(1)} s (${eff(wtPages)})`,
      );
    }
    console.log(
      JSON.stringify({
        size_mib: SIZE / MiB,
        limit_MBps: LIMIT / 1e6,
        reps: REPS,
        ideal_s: round(IDEAL_S, 1),
        crowd_last_s: Object.fromEntries(NS.map((n) => [String(n), round(cli[n]!.lastS, 1)])),
        crowd_efficiency: Object.fromEntries(NS.map((n) => [String(n), eff(cli[n]!.lastS)])),
        crowd_seeder_copies: Object.fromEntries(NS.map((n) => [String(n), round(cli[n]!.seederCopies)])),
        http_last_s: Object.fromEntries(Object.entries(httpLast).map(([n, s]) => [n, round(s, 1)])),
        http_efficiency: Object.fromEntries(Object.entries(httpLast).map(([n, s]) => [n, eff(s)])),
        pages_n: PAGE_N,
        crowd_efficiency_pages: oursPages === null ? null : eff(oursPages),
        [`webtorrent_crowd_efficiency_pages_${PAGE_N}`]: wtPages === null ? null : eff(wtPages),
      }),
    );
  } finally {
    await browser?.close();
    pages?.close();
    http?.close();
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:crowd: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
