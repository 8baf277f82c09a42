/**
 * `npm run bench:wrtc`: the two WebRTC implementations for Node, through the one PeerLink, in
 * the same run: @roamhq/wrtc (libwebrtc) and node-datachannel's polyfill (libdatachannel).
 *
 * 1. set-up: milliseconds from creating a pair of links (signaled straight into each other)
 *    to both ends open, --pairs (10) pairs one after another; the median;
 * 2. throughput: 1 -> 1 over one data channel, --size MiB (32) in 64 KiB frames, the sender
 *    honouring `send() === false` / `drain`; MB/s;
 * 3. never opened: --opens (1500) pairs, 10 at a time, each given 10 s; how many did not
 *    open (a link that closes first counts, with its code).
 * Medians of --reps (3) for 1 and 2, the implementations alternating; 3 once per
 * implementation. Prints a table, then one JSON line with the figures and the ratios
 * (node-datachannel / @roamhq/wrtc). MB = 10^6 bytes.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { PeerLink } from '@ringswarm/shared';
import { median } from './common.js';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '10' },
    size: { type: 'string', default: '32' },
    reps: { type: 'string', default: '3' },
    opens: { type: 'string', default: '1500' },
  },
});
const OPENS = Number(values.opens);
const OPENS_AT_ONCE = 10;
const OPENS_TIMEOUT_MS = 10_000;
const PAIRS = Number(values.pairs);
const SIZE = Number(values.size) * 1024 * 1024;
const REPS = Number(values.reps);
const FRAME = 64 * 1024;
const OPEN_TIMEOUT_MS = 20_000;

const require = createRequire(import.meta.url);
const IMPLS = {
  roamhq: { label: '@roamhq/wrtc', wrtc: require('@roamhq/wrtc') as object },
  ndc: { label: 'node-datachannel/polyfill', wrtc: require('node-datachannel/polyfill') as object },
};
type Impl = keyof typeof IMPLS;

/** Two links signaled into each other; resolves once both are open, with the time it took. */
async function openPair(wrtc: object, timeoutMs = OPEN_TIMEOUT_MS): Promise<{ a: PeerLink; b: PeerLink; ms: number }> {
  const t0 = performance.now();
  const a = new PeerLink('b', { initiator: true, wrtc, connectTimeoutMs: timeoutMs });
  const b = new PeerLink('a', { initiator: false, wrtc, connectTimeoutMs: timeoutMs });
  a.on('signal', (d) => b.signal(d));
  b.on('signal', (d) => a.signal(d));
  const opened = (l: PeerLink) =>
    new Promise<void>((resolve, reject) => {
      l.once('connect', () => resolve());
      l.once('close', (code) => reject(new Error(`link closed before it opened: ${code}`)));
    });
  try {
    await Promise.all([opened(a), opened(b)]);
  } catch (err) {
    a.close();
    b.close();
    throw err;
  }
  return { a, b, ms: performance.now() - t0 };
}

async function setupMs(wrtc: object): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const { a, b, ms } = await openPair(wrtc);
    times.push(ms);
    a.close();
    b.close();
  }
  return median(times);
}

async function throughput(wrtc: object): Promise<number> {
  const { a, b } = await openPair(wrtc);
  const frame = new Uint8Array(FRAME);
  let received = 0;
  const t0 = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    b.on('frame', (f) => {
      received += f.byteLength;
      if (received >= SIZE) resolve();
    });
    b.once('close', (code) => reject(new Error(`receiver closed: ${code}`)));
    a.once('close', (code) => reject(new Error(`sender closed: ${code}`)));
  });
  let sent = 0;
  const pump = () => {
    while (sent < SIZE) {
      sent += FRAME;
      if (!a.send(frame)) {
        a.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await done;
  const ms = performance.now() - t0;
  a.close();
  b.close();
  return SIZE / 1e6 / (ms / 1000);
}

/** Pairs that did not open, of OPENS; the close codes they gave. */
async function neverOpened(wrtc: object): Promise<{ failed: number; codes: string[] }> {
  let next = 0;
  const codes: string[] = [];
  const worker = async () => {
    while (next < OPENS) {
      next++;
      try {
        const { a, b } = await openPair(wrtc, OPENS_TIMEOUT_MS);
        a.close();
        b.close();
      } catch (err) {
        codes.push(String(err instanceof Error ? err.message : err).replace('link closed before it opened: ', ''));
      }
    }
  };
  await Promise.all(Array.from({ length: OPENS_AT_ONCE }, worker));
  return { failed: codes.length, codes };
}

const results: Record<Impl, { setup: number[]; mbps: number[] }> = {
  roamhq: { setup: [], mbps: [] },
  ndc: { setup: [], mbps: [] },
};
for (let rep = 0; rep < REPS; rep++) {
  const order: Impl[] = rep % 2 === 0 ? ['roamhq', 'ndc'] : ['ndc', 'roamhq'];
  for (const impl of order) {
    results[impl].setup.push(await setupMs(IMPLS[impl].wrtc));
    results[impl].mbps.push(await throughput(IMPLS[impl].wrtc));
    process.stderr.write(
      `rep ${rep + 1} ${impl}: set-up ${results[impl].setup.at(-1)?.toFixed(1)} ms, ${results[impl].mbps.at(-1)?.toFixed(1)} MB/s\n`,
    );
  }
}

const never: Record<Impl, { failed: number; codes: string[] }> = {
  roamhq: await neverOpened(IMPLS.roamhq.wrtc),
  ndc: await neverOpened(IMPLS.ndc.wrtc),
};
for (const impl of ['roamhq', 'ndc'] as const) {
  process.stderr.write(
    `${impl}: ${never[impl].failed} of ${OPENS} pairs never opened ${never[impl].codes.join(' ')}\n`,
  );
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const summary = {
  roamhq: { setup_ms: round(median(results.roamhq.setup)), mbps: round(median(results.roamhq.mbps)) },
  ndc: { setup_ms: round(median(results.ndc.setup)), mbps: round(median(results.ndc.mbps)) },
};
console.log(
  `\nimplementation               set-up (ms, median of ${PAIRS} pairs)   1->1 ${values.size} MiB (MB/s)   never opened (of ${OPENS})`,
);
for (const impl of ['roamhq', 'ndc'] as const) {
  console.log(
    `${IMPLS[impl].label.padEnd(28)} ${String(summary[impl].setup_ms).padStart(10)}   ${String(summary[impl].mbps).padStart(28)}   ${String(never[impl].failed).padStart(21)}`,
  );
}
console.log(
  `ratio ndc/roamhq: throughput ${round(summary.ndc.mbps / summary.roamhq.mbps, 2)}x, set-up time ${round(summary.ndc.setup_ms / summary.roamhq.setup_ms, 2)}x`,
);
console.log(
  JSON.stringify({
    bench: 'wrtc',
    reps: REPS,
    pairs: PAIRS,
    size_mib: Number(values.size),
    roamhq_setup_ms: summary.roamhq.setup_ms,
    roamhq_mbps: summary.roamhq.mbps,
    ndc_setup_ms: summary.ndc.setup_ms,
    ndc_mbps: summary.ndc.mbps,
    mbps_ratio_ndc_over_roamhq: round(summary.ndc.mbps / summary.roamhq.mbps, 2),
    setup_ratio_ndc_over_roamhq: round(summary.ndc.setup_ms / summary.roamhq.setup_ms, 2),
    opens: OPENS,
    roamhq_never_opened: never.roamhq.failed,
    ndc_never_opened: never.ndc.failed,
  }),
);
// Native WebRTC threads can keep the process alive after the last link closed.
setTimeout(() => process.exit(0), 200);
