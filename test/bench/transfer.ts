/**
 * `npm run bench:transfer`: file transfer between real Chromium pages on loopback, ours
 * and WebTorrent's in the same run.
 *
 * 1. raw ceiling: the best throughput a tuned sender gets over plain RTCDataChannels
 *    between two pages (message sizes x channel counts);
 * 2. ringswarm 1 seeder -> 1 leecher, the real page, --size MiB (128), the leecher on the share
 *    link (the server's LAN address: plain HTTP, so IndexedDB and hashing in WebAssembly, as
 *    a person on another machine has it) and again on localhost (a secure context: OPFS and
 *    WebCrypto, as WebTorrent's page here has it);
 * 3. WebTorrent 3 1 -> 1 (its browser bundle + bittorrent-tracker's WebSocket tracker);
 * 4. time from opening the link (adding the magnet) to the first verified piece;
 * 5. k seeders -> 1 leecher with each seeder's upload limited to --limit MB/s (4), k = 1, 2, 4:
 *    efficiency = download rate / (k x limit), at --k-size MiB (32) and again at --size MiB
 *    (`k_efficiency_128`).
 * Medians of --reps (3). Prints a table, then one JSON line. MB = 10^6 bytes.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { ensureAnchors, median, requireBuild, startTrackers } from './common.js';
import { inNewPage, onOrigin, ourDownload, ourSeeder, wtDownload, wtSeeder } from './pages.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '128' },
    'k-size': { type: 'string', default: '32' },
    limit: { type: 'string', default: '4' },
    reps: { type: 'string', default: '3' },
    ks: { type: 'string', default: '1,2,4' },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(values.size) * MiB;
const K_SIZE = Number(values['k-size']) * MiB;
const LIMIT = Number(values.limit) * 1e6;
const REPS = Number(values.reps);
const KS = values.ks.split(',').map(Number);

const WAIT_MS = 300_000;
/** Downloads are timed to the first piece, so their pages are polled often. */
const WAIT = { timeoutMs: WAIT_MS, pollMs: 5 };

const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

// --- 1. raw ceiling ---------------------------------------------------------------------------

interface RawTrial {
  messageBytes: number;
  channels: number;
}

async function rawTrial(browser: Browser, base: string, trial: RawTrial, total: number): Promise<number> {
  const [a, b] = await Promise.all(
    [0, 1].map(async () => {
      const context = await browser.newContext();
      // Non-trickle signaling: each side hands over its description once ICE gathering ends.
      await context.addInitScript(() => {
        (window as unknown as { iceGathered: (pc: RTCPeerConnection) => Promise<void> }).iceGathered = (pc) =>
          new Promise((resolve) => {
            if (pc.iceGatheringState === 'complete') return resolve();
            pc.addEventListener('icegatheringstatechange', () => {
              if (pc.iceGatheringState === 'complete') resolve();
            });
          });
      });
      return context.newPage();
    }),
  );
  type IceWindow = { iceGathered: (pc: RTCPeerConnection) => Promise<void> };
  try {
    await Promise.all([a!.goto(`${base}/blank.html`), b!.goto(`${base}/blank.html`)]);
    const offer = await a!.evaluate(
      async ({ channels }) => {
        const pc = new RTCPeerConnection();
        const w = window as unknown as Record<string, unknown>;
        w.pc = pc;
        w.chans = Array.from({ length: channels }, (_, i) => pc.createDataChannel(`c${i}`, { ordered: true }));
        await pc.setLocalDescription(await pc.createOffer());
        await (window as unknown as IceWindow).iceGathered(pc);
        return pc.localDescription!.toJSON();
      },
      { channels: trial.channels },
    );
    const answer = await b!.evaluate(
      async ({ offer, total }) => {
        const pc = new RTCPeerConnection();
        const w = window as unknown as Record<string, unknown>;
        let received = 0;
        w.done = new Promise<void>((resolve) => {
          pc.ondatachannel = ({ channel }) => {
            channel.binaryType = 'arraybuffer';
            channel.onmessage = (e) => {
              received += (e.data as ArrayBuffer).byteLength;
              if (received >= total) resolve();
            };
          };
        });
        await pc.setRemoteDescription(offer);
        await pc.setLocalDescription(await pc.createAnswer());
        await (window as unknown as IceWindow).iceGathered(pc);
        return pc.localDescription!.toJSON();
      },
      { offer, total },
    );
    await a!.evaluate(async (answer) => {
      const w = window as unknown as { pc: RTCPeerConnection; chans: RTCDataChannel[] };
      await w.pc.setRemoteDescription(answer);
      await Promise.all(
        w.chans.map((c) => (c.readyState === 'open' ? null : new Promise((r) => c.addEventListener('open', r)))),
      );
    }, answer);
    const started = Date.now();
    const done = b!.evaluate(() => (window as unknown as { done: Promise<void> }).done);
    await a!.evaluate(
      async ({ messageBytes, total }) => {
        const chans = (window as unknown as { chans: RTCDataChannel[] }).chans;
        const HIGH = 8 * 1024 * 1024;
        const LOW = 2 * 1024 * 1024;
        const msg = new Uint8Array(messageBytes);
        const perChannel = Math.ceil(total / chans.length / messageBytes);
        await Promise.all(
          chans.map(async (c) => {
            c.bufferedAmountLowThreshold = LOW;
            for (let sent = 0; sent < perChannel; sent++) {
              if (c.bufferedAmount > HIGH) {
                await new Promise((r) => c.addEventListener('bufferedamountlow', r, { once: true }));
              }
              c.send(msg);
            }
          }),
        );
      },
      { messageBytes: trial.messageBytes, total },
    );
    await done;
    return mbps(total, Date.now() - started);
  } finally {
    await a!.context().close();
    await b!.context().close();
  }
}

// --- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  requireBuild();
  ensureAnchors();
  const dir = await mkdtemp(join(tmpdir(), 'ringswarm-bench-'));
  const children: ChildProcess[] = [];
  let pages: Server | undefined;
  let browser: Browser | undefined;
  try {
    const big = join(dir, 'big.bin');
    const small = join(dir, 'k.bin');
    await writeFile(big, randomBytes(SIZE));
    await writeFile(small, randomBytes(K_SIZE));

    const started = await startTrackers(children);
    const ourUrl = started.ourUrl;
    const tracker = started.btTracker;
    pages = started.pages;
    const base = started.pagesBase;
    const wtPage = (limit: number | null) =>
      `${base}/wt.html?tracker=${encodeURIComponent(tracker)}${limit === null ? '' : `&uploadLimit=${limit}`}`;
    browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true });

    // 1. raw ceiling: try sender settings, keep the best median.
    const rawTrials: (RawTrial & { MBps: number })[] = [];
    for (const messageBytes of [16 * 1024, 64 * 1024, 256 * 1024]) {
      for (const channels of [1, 4]) {
        const runs: number[] = [];
        for (let r = 0; r < REPS; r++) runs.push(await rawTrial(browser, base, { messageBytes, channels }, 64 * MiB));
        rawTrials.push({ messageBytes, channels, MBps: median(runs) });
        process.stderr.write(
          `raw ${messageBytes / 1024} KiB x ${channels} channel(s): ${median(runs).toFixed(1)} MB/s\n`,
        );
      }
    }
    const bestRaw = rawTrials.reduce((a, b) => (b.MBps > a.MBps ? b : a));

    // 2-4. 1 -> 1, ours and WebTorrent.
    const ours11: { MBps: number; first: number }[] = [];
    const oursLocal: number[] = [];
    const wt11: { MBps: number; first: number }[] = [];
    for (let r = 0; r < REPS; r++) {
      const seeder = await ourSeeder(browser, ourUrl, big, { timeoutMs: WAIT_MS });
      const o = await inNewPage(browser, (page) => ourDownload(page, seeder.link, WAIT));
      const local = await inNewPage(browser, (page) => ourDownload(page, onOrigin(seeder.link, ourUrl), WAIT));
      await seeder.page.context().close();
      ours11.push({ MBps: mbps(SIZE, o.doneMs), first: o.firstPieceMs });
      oursLocal.push(mbps(SIZE, local.doneMs));
      const wseed = await wtSeeder(browser, wtPage(null), big);
      const w = await inNewPage(browser, (page) => wtDownload(page, wtPage(null), wseed.magnet, WAIT));
      await wseed.page.context().close();
      wt11.push({ MBps: mbps(SIZE, w.doneMs), first: w.firstPieceMs });
      process.stderr.write(
        `rep ${r + 1} 1->1 ${SIZE / MiB} MiB: ours ${mbps(SIZE, o.doneMs).toFixed(1)} MB/s (first piece ${o.firstPieceMs} ms), ` +
          `on localhost ${oursLocal.at(-1)!.toFixed(1)} MB/s, ` +
          `WebTorrent ${mbps(SIZE, w.doneMs).toFixed(1)} MB/s (first piece ${w.firstPieceMs.toFixed(0)} ms)\n`,
      );
    }

    // 5. k rate-limited seeders -> 1 leecher, at --k-size and at --size.
    const kEfficiency = async (file: string, size: number) => {
      const ours: Record<string, number> = {};
      const wt: Record<string, number> = {};
      for (const k of KS) {
        const oursEff: number[] = [];
        const wtEff: number[] = [];
        for (let r = 0; r < REPS; r++) {
          const seeders: { page: Page; link: string }[] = [];
          for (let i = 0; i < k; i++)
            seeders.push(await ourSeeder(browser!, ourUrl, file, { timeoutMs: WAIT_MS, uploadLimit: LIMIT }));
          const o = await inNewPage(browser!, (page) => ourDownload(page, seeders[0]!.link, WAIT));
          for (const s of seeders) await s.page.context().close();
          oursEff.push(mbps(size, o.doneMs) / ((k * LIMIT) / 1e6));
          const wseeds: { page: Page; magnet: string }[] = [];
          for (let i = 0; i < k; i++) wseeds.push(await wtSeeder(browser!, wtPage(LIMIT), file));
          const w = await inNewPage(browser!, (page) => wtDownload(page, wtPage(null), wseeds[0]!.magnet, WAIT));
          for (const s of wseeds) await s.page.context().close();
          wtEff.push(mbps(size, w.doneMs) / ((k * LIMIT) / 1e6));
          process.stderr.write(
            `rep ${r + 1} k=${k}, ${size / MiB} MiB: ours ${(oursEff.at(-1)! * 100).toFixed(0)}%, WebTorrent ${(wtEff.at(-1)! * 100).toFixed(0)}%\n`,
          );
        }
        ours[k] = median(oursEff);
        wt[k] = median(wtEff);
      }
      return { ours, wt };
    };
    const { ours: kOurs, wt: kWt } = await kEfficiency(small, K_SIZE);
    const { ours: kOurs128, wt: kWt128 } = await kEfficiency(big, SIZE);

    const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
    const oursMBps = median(ours11.map((x) => x.MBps));
    const wtMBps = median(wt11.map((x) => x.MBps));
    const localMBps = median(oursLocal);
    const first = median(ours11.map((x) => x.first));
    const wtFirst = median(wt11.map((x) => x.first));
    console.log(`\ntransfer benchmark: Chromium pages on loopback, medians of ${REPS}, MB = 10^6 bytes`);
    console.log(
      `raw ceiling (best of ${rawTrials.length} sender settings: ${bestRaw.messageBytes / 1024} KiB x ${bestRaw.channels}): ${round(bestRaw.MBps, 1)} MB/s`,
    );
    console.log(
      `1 -> 1, ${SIZE / MiB} MiB:   ringswarm ${round(oursMBps, 1)} MB/s   WebTorrent ${round(wtMBps, 1)} MB/s   ratio ${round(oursMBps / wtMBps)}`,
    );
    console.log(
      `1 -> 1 on localhost (OPFS, WebCrypto): ringswarm ${round(localMBps, 1)} MB/s   ratio to WebTorrent ${round(localMBps / wtMBps)}`,
    );
    console.log(
      `time to first piece:   ringswarm ${round(first, 0)} ms   WebTorrent ${round(wtFirst, 0)} ms   ratio ${round(first / wtFirst)}`,
    );
    for (const [size, ours, wt] of [
      [K_SIZE, kOurs, kWt],
      [SIZE, kOurs128, kWt128],
    ] as const) {
      for (const k of KS) {
        console.log(
          `k = ${k} seeders at ${LIMIT / 1e6} MB/s each, ${size / MiB} MiB: efficiency ringswarm ${round(ours[k]!)}   WebTorrent ${round(wt[k]!)}`,
        );
      }
    }
    console.log(
      JSON.stringify({
        size_mib: SIZE / MiB,
        reps: REPS,
        raw_MBps: round(bestRaw.MBps, 1),
        raw_setting: { message_bytes: bestRaw.messageBytes, channels: bestRaw.channels },
        raw_trials: rawTrials.map((t) => ({
          message_bytes: t.messageBytes,
          channels: t.channels,
          MBps: round(t.MBps, 1),
        })),
        ours_MBps: round(oursMBps, 1),
        webtorrent_MBps: round(wtMBps, 1),
        ours_vs_raw: round(oursMBps / bestRaw.MBps),
        ours_vs_webtorrent: round(oursMBps / wtMBps),
        // The same leecher on localhost, a secure context like WebTorrent's page here.
        ours_localhost_MBps: round(localMBps, 1),
        ours_localhost_vs_webtorrent: round(localMBps / wtMBps),
        first_piece_ms: round(first, 0),
        webtorrent_first_piece_ms: round(wtFirst, 0),
        first_piece_ratio: round(first / wtFirst),
        k_limit_MBps: LIMIT / 1e6,
        k_efficiency: Object.fromEntries(KS.map((k) => [String(k), round(kOurs[k]!)])),
        webtorrent_k_efficiency: Object.fromEntries(KS.map((k) => [String(k), round(kWt[k]!)])),
        // The same at --size (128 MiB): long enough that connection set-up is a small share.
        k_efficiency_128: Object.fromEntries(KS.map((k) => [String(k), round(kOurs128[k]!)])),
        webtorrent_k_efficiency_128: Object.fromEntries(KS.map((k) => [String(k), round(kWt128[k]!)])),
      }),
    );
  } finally {
    await browser?.close();
    pages?.close();
    for (const c of children) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:transfer: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
