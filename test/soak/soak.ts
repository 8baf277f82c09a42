/**
 * `npm run soak`: many CLI peers and a few Chromium pages against one tracker process for
 * minutes, with a download loop (fetch, verify the saved bytes, seed, delete, fetch again),
 * random SIGKILL/SIGTERM and restarts of the peers (same --identity), reloads of the pages,
 * crash accounting and RSS samples. Progress lines while it runs; the last line is one JSON
 * object. Exit code 1 when a copy was corrupt, something crashed or the server showed a
 * share (leak check); 130 when stopped by Ctrl-C. Not part of `npm test`.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { noteLink } from '../helpers/leak-check.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { CliSlot, liveChildren } from './cli-peer.js';
import { SoakContext } from './context.js';
import { PageSlot } from './page-peer.js';
import { SeededRandom } from './random.js';
import { mb, rssMb } from './rss.js';
import { writeShares } from './shares.js';
import { Tally, tail, unexpectedExit } from './tally.js';

const USAGE = `Usage: npm run soak -- [--minutes 10] [--peers 20] [--pages 2] [--seed N] [--tracker-arg FLAG]...
  --minutes N       how long the download loop and the kill schedule run (default 10; decimals allowed)
  --peers N         CLI peers: one seeder per share (3), the rest fetch (default 20, at least 4)
  --pages N         Chromium pages that fetch too (default 2; 0 for none)
  --seed N          seed of the schedule's randomness (default random; printed either way)
  --tracker-arg F   passed to the tracker (repeatable), e.g. --tracker-arg=--max-peers-per-ip=1000`;

/** RSS of the tracker and every peer is read this often. */
const RSS_INTERVAL_MS = 10_000;
/** Pause between two kills of the schedule. */
const KILL_MIN_MS = 2_000;
const KILL_MAX_MS = 6_000;
/** Pause between two page reloads (one page each time). */
const RELOAD_MIN_MS = 15_000;
const RELOAD_MAX_MS = 45_000;
/** Time for the seeders to hash their files and print their links. */
const SHARES_READY_MS = 90_000;
/** Shares the seeders hold (shares.ts): the fewest peers is one seeder each and one getter. */
const SHARE_COUNT = 3;

const round1 = (x: number): number => Math.round(x * 10) / 10;

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return round1(s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2);
}

interface Options {
  minutes: number;
  peers: number;
  pages: number;
  seed: number;
  trackerArgs: string[];
}

class UsageError extends Error {}

function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}`);
  return n;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      peers: { type: 'string', default: '20' },
      pages: { type: 'string', default: '2' },
      seed: { type: 'string' },
      'tracker-arg': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return null;
  const minutes = Number(values.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) {
    throw new UsageError('--minutes must be a number above 0 (at most a day)');
  }
  return {
    minutes,
    peers: wholeNumber('peers', values.peers, SHARE_COUNT + 1, 200),
    pages: wholeNumber('pages', values.pages, 0, 20),
    seed: values.seed === undefined ? randomInt(2 ** 32) : wholeNumber('seed', values.seed, 0, 2 ** 32 - 1),
    trackerArgs: values['tracker-arg'] ?? [],
  };
}

/** The RSS samples: the tracker's first and last, the peers' highest, and both per minute. */
class RssBook {
  trackerStart: number | null = null;
  trackerEnd: number | null = null;
  peerMax = 0;
  readonly trackerByMinute: number[] = [];
  readonly peerMaxByMinute: number[] = [];

  sample(minute: number, trackerPid: number | undefined, peerPids: (number | undefined)[]): void {
    const tracker = rssMb(trackerPid);
    if (tracker !== null) {
      this.trackerStart ??= tracker;
      this.trackerEnd = tracker;
      this.trackerByMinute[minute] = mb(tracker);
    }
    for (const pid of peerPids) {
      const rss = rssMb(pid);
      if (rss === null) continue;
      this.peerMax = Math.max(this.peerMax, rss);
      this.peerMaxByMinute[minute] = mb(Math.max(this.peerMaxByMinute[minute] ?? 0, rss));
    }
  }
}

/** The tracker in its own process group (so Ctrl-C reaches only the soak), its exits accounted like a peer's. */
const ownGroup = (command: string, args: string[]): ChildProcess =>
  spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });

/** Last resort (uncaught error, second Ctrl-C, exit): kills every process still running and removes the temp folder. */
function hardCleanup(root: string | null): void {
  for (const child of liveChildren) {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
  liveChildren.clear();
  if (root) rmSync(root, { recursive: true, force: true });
}

async function soak(options: Options): Promise<number> {
  const tally = new Tally();
  const random = new SeededRandom(options.seed);
  const root = await mkdtemp(join(tmpdir(), 'ringswarm-soak-'));
  const ctx = new SoakContext(random, tally, root);
  let interrupted = false;
  let browser: Browser | null = null;
  let server: ServerProcess | null = null;
  const trackerSent = new Set<NodeJS.Signals>();
  let trackerErr = '';

  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      tally.log(`${signal} again: killing everything now`);
      hardCleanup(root);
      process.exit(130);
    }
    interrupted = true;
    tally.log(`${signal}: stopping (again to kill everything at once)`);
    ctx.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', () => hardCleanup(root));

  process.stdout.write(
    `soak: seed ${options.seed} (--seed ${options.seed} repeats the schedule), ${options.peers} CLI peers, ` +
      `${options.pages} pages, ${options.minutes} min\n`,
  );
  const rss = new RssBook();
  const slots: CliSlot[] = [];
  const pages: PageSlot[] = [];
  const loops: Promise<void>[] = [];
  let leakCheck = 'ok';
  let windowMs = 0;
  try {
    server = await startServerProcess(options.trackerArgs, ownGroup);
    const tracker = server.child;
    liveChildren.add(tracker);
    tracker.stderr?.on('data', (chunk: Buffer) => {
      trackerErr = tail(trackerErr + chunk.toString(), 40);
    });
    tracker.once('exit', (code, signal) => {
      liveChildren.delete(tracker);
      const why = unexpectedExit(code, signal, trackerSent);
      if (why) tally.crash('tracker', why, `${trackerErr}\n(stdout)\n${tail(server?.output() ?? '')}`);
    });
    ctx.trackerUrl = server.url;
    tally.log(`tracker ${server.url} (pid ${tracker.pid})`);

    const sources = await writeShares(join(root, 'files'));
    const pad = String(options.peers).length;
    for (let i = 0; i < options.peers; i++) {
      const source = sources[i];
      const name = `peer-${String(i).padStart(pad, '0')}`;
      slots.push(new CliSlot(ctx, name, source ? { kind: 'seeder', source } : { kind: 'getter' }));
    }
    const seeders = slots.filter((s) => s.role.kind === 'seeder');
    for (const s of seeders) loops.push(s.run());
    const readyBy = Date.now() + SHARES_READY_MS;
    while (ctx.shares.length < sources.length && !ctx.stopping) {
      if (Date.now() > readyBy) throw new Error(`the seeders printed no links within ${SHARES_READY_MS} ms`);
      await ctx.sleep(100);
    }
    for (const share of ctx.shares) {
      noteLink(share.link);
      tally.log(`share ${share.name}: ${share.files.length} file(s), ${share.link}`);
    }

    if (options.pages > 0 && !ctx.stopping) {
      browser = await chromium.launch({
        executablePath: findChromium(),
        args: CHROMIUM_ARGS,
        headless: true,
        // The soak ends the browser itself, after the peers, whatever stops it.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      browser.on('disconnected', () => {
        if (!ctx.stopping) tally.crash('chromium', 'the browser went away', '');
      });
      for (let i = 0; i < options.pages; i++) pages.push(new PageSlot(ctx, `page-${i}`, browser));
    }

    const started = Date.now();
    const minuteOf = () => Math.floor((Date.now() - started) / 60_000);
    const sample = () =>
      rss.sample(
        minuteOf(),
        tracker.exitCode === null ? tracker.pid : undefined,
        slots.map((s) => s.pid),
      );
    for (const s of slots) if (s.role.kind === 'getter') loops.push(s.run());
    for (const p of pages) loops.push(p.run());
    loops.push(killLoop(ctx, slots), reloadLoop(ctx, pages));
    sample();
    const sampler = setInterval(sample, RSS_INTERVAL_MS);

    const total = options.minutes * 60_000;
    for (let minute = 1; !ctx.stopping; minute++) {
      const left = started + Math.min(total, minute * 60_000) - Date.now();
      await ctx.sleep(Math.max(0, left));
      if (ctx.stopping) break;
      sample();
      const trackerRss = rss.trackerEnd === null ? 'gone' : `${mb(rss.trackerEnd)} MB`;
      process.stdout.write(
        `minute ${(Math.min(total, Date.now() - started) / 60_000).toFixed(1)}/${options.minutes}: ` +
          `downloads ${tally.downloads} (CLI ${tally.downloadsCli}, pages ${tally.downloadsPages}), ` +
          `corrupt ${tally.corrupt}, crashes ${tally.crashes}, stalls ${tally.stalls}, ` +
          `kills ${tally.kills.SIGKILL + tally.kills.SIGTERM}, reloads ${tally.reloads}, ` +
          `tracker RSS ${trackerRss}, peer RSS max ${mb(rss.peerMax)} MB\n`,
      );
      if (Date.now() - started >= total) break;
    }
    windowMs = Date.now() - started;
    sample();
    clearInterval(sampler);
    // Downloads still running are neither counted nor stalls: say where each peer was.
    const doing = [...slots.map((s) => s.describe()), ...(await Promise.all(pages.map((p) => p.describe())))];
    tally.log(`at the end:\n  ${doing.join('\n  ')}`);
  } finally {
    ctx.stop();
    await Promise.allSettled(loops);
    tally.log('stopping the peers');
    await Promise.all(slots.map((s) => s.stop()));
    await Promise.all(pages.map((p) => p.close()));
    await browser?.close().catch(() => {});
    if (server) {
      trackerSent.add('SIGTERM');
      await server.stop().catch((err: Error) => {
        leakCheck = err.message;
        tally.log(`LEAK CHECK failed: ${err.message}`);
      });
    }
    await rm(root, { recursive: true, force: true });
  }

  const report = {
    minutes: Math.round(windowMs / 600) / 100,
    downloads: tally.downloads,
    corrupt: tally.corrupt,
    crashes: tally.crashes,
    tracker_rss_mb_start: rss.trackerStart === null ? null : mb(rss.trackerStart),
    tracker_rss_mb_end: rss.trackerEnd === null ? null : mb(rss.trackerEnd),
    peer_rss_mb_max: mb(rss.peerMax),
    seed: options.seed,
    peers: options.peers,
    pages: options.pages,
    downloads_cli: tally.downloadsCli,
    downloads_pages: tally.downloadsPages,
    rechecks: tally.rechecks,
    stalls: tally.stalls,
    kills_sigkill: tally.kills.SIGKILL,
    kills_sigterm: tally.kills.SIGTERM,
    restarts: tally.restarts,
    reloads: tally.reloads,
    term_hangs: tally.termHangs,
    id_changes: tally.idChanges,
    page_failures: tally.pageFailures,
    download_seconds_median: median(tally.downloadSeconds),
    download_seconds_max: tally.downloadSeconds.length > 0 ? round1(Math.max(...tally.downloadSeconds)) : null,
    leak_check: leakCheck,
    tracker_rss_mb_by_minute: rss.trackerByMinute,
    peer_rss_mb_max_by_minute: rss.peerMaxByMinute,
    interrupted,
    crash_list: tally.crashList,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (interrupted) return 130;
  return tally.corrupt > 0 || tally.crashes > 0 || leakCheck !== 'ok' ? 1 : 0;
}

/** Every few seconds, SIGKILL or SIGTERM one peer the schedule may kill (CliSlot.killable). */
async function killLoop(ctx: SoakContext, slots: readonly CliSlot[]): Promise<void> {
  while (!ctx.stopping) {
    await ctx.sleep(ctx.random.int(KILL_MIN_MS, KILL_MAX_MS));
    if (ctx.stopping) return;
    const candidates = slots.filter((s) => s.killable(slots));
    if (candidates.length === 0) continue;
    const slot = ctx.random.pick(candidates);
    const signal = ctx.random.chance(0.5) ? 'SIGKILL' : 'SIGTERM';
    ctx.tally.kills[signal]++;
    slot.kill(signal);
  }
}

/** Now and then, reloads one page that is fetching or seeding. */
async function reloadLoop(ctx: SoakContext, pages: readonly PageSlot[]): Promise<void> {
  if (pages.length === 0) return;
  while (!ctx.stopping) {
    await ctx.sleep(ctx.random.int(RELOAD_MIN_MS, RELOAD_MAX_MS));
    if (ctx.stopping) return;
    const candidates = pages.filter((p) => p.reloadable);
    if (candidates.length > 0) await ctx.random.pick(candidates).reload();
  }
}

let options: Options | null;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`soak: ${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (options === null) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
soak(options).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
