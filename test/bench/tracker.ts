/**
 * `npm run bench:tracker`: ringswarm's tracker against bittorrent-tracker's WebSocket
 * tracker, same load, same run. For each repetition and each server: start the server,
 * read its RSS, start the load generator (its own process), let it connect N peers across
 * S swarms, read RSS again, then let it run the announce and signal phases.
 *
 * Phases (see tracker-load.ts): announce latency at a fixed offered load (each peer once a
 * second), announce throughput at saturation, signal relay throughput at saturation.
 *
 * Options: --peers (5000) --swarms (500) --seconds per phase (10) --reps (3),
 * --numwant (10: peer IDs in each of our announce answers; bittorrent-tracker's WebSocket
 * announce answers carry none, so --numwant 0 compares equal work).
 * Prints a table, then one JSON line with the medians and ratios (ours / bittorrent-tracker).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '5000' },
    swarms: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    numwant: { type: 'string', default: '10' },
  },
});
const PEERS = Number(values.peers);
const REPS = Number(values.reps);

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ROOT = here('../../../../');
const ANCHORS = `${ROOT}test/bench/anchors`;
const OUR_SERVER = `${ROOT}signaling-server/dist/index.js`;
const LOADGEN = here('./tracker-load.js');

type Target = 'ours' | 'bt';

interface RunResult {
  open_p50_ms: number;
  open_p99_ms: number;
  announces_per_s: number;
  announce_p50_ms: number;
  announce_p99_ms: number;
  signals_per_s: number;
  signal_p50_ms: number;
  signal_p99_ms: number;
  rss_per_peer_kb: number;
  heap_per_peer_kb: number;
}

function ensureAnchors(): void {
  if (existsSync(`${ANCHORS}/node_modules/bittorrent-tracker`)) return;
  process.stderr.write('installing bittorrent-tracker for comparison (test/bench/anchors, --ignore-scripts)…\n');
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: ANCHORS, stdio: 'inherit' });
}

/** Asks a server runner to collect garbage and report `process.memoryUsage()`. */
async function memoryAfterGc(server: ChildProcess): Promise<{ rss: number; heapUsed: number }> {
  const line = lineMatching(server, /^memory (\{.*\})$/, 'server');
  server.kill('SIGUSR2');
  return JSON.parse((await line)[1]!);
}

/** Resolves with the first stdout line matching `re`. */
function lineMatching(child: ChildProcess, re: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        const m = re.exec(line);
        if (m) {
          child.stdout?.off('data', onData);
          child.off('exit', onExit);
          resolve(m);
          return;
        }
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited with ${code} before printing ${re}`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function runOnce(target: Target): Promise<RunResult> {
  // Both servers run from a runner script in test/bench/anchors with the same memory probe.
  const server = spawn(process.execPath, ['--expose-gc', `${ANCHORS}/${target}-server.mjs`], {
    cwd: ANCHORS,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let loadgen: ChildProcess | undefined;
  try {
    const [, port] = await lineMatching(server, /listening on (\d+)/, `${target} server`);
    await sleep(500);
    const baseline = await memoryAfterGc(server);
    loadgen = spawn(
      process.execPath,
      [
        LOADGEN,
        '--target',
        target,
        '--port',
        port!,
        '--peers',
        String(PEERS),
        '--swarms',
        values.swarms!,
        '--seconds',
        values.seconds!,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    await lineMatching(loadgen, /^ready$/, 'load generator');
    await sleep(1_000);
    const loaded = await memoryAfterGc(server);
    const result = lineMatching(loadgen, /^(\{.*\})$/, 'load generator');
    loadgen.stdin?.write('go\n');
    const stats = JSON.parse((await result)[1]!);
    return {
      ...stats,
      rss_per_peer_kb: (loaded.rss - baseline.rss) / 1024 / PEERS,
      heap_per_peer_kb: (loaded.heapUsed - baseline.heapUsed) / 1024 / PEERS,
    };
  } finally {
    if (loadgen) await stop(loadgen);
    await stop(server);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  if (!existsSync(OUR_SERVER)) throw new Error('build first: npm run build');
  ensureAnchors();
  const runs: Record<Target, RunResult[]> = { ours: [], bt: [] };
  for (let rep = 1; rep <= REPS; rep++) {
    for (const target of ['ours', 'bt'] as const) {
      const r = await runOnce(target);
      runs[target].push(r);
      process.stderr.write(
        `rep ${rep} ${target.padEnd(4)}: ${r.announces_per_s.toFixed(0)} announces/s (p99 ${r.announce_p99_ms.toFixed(1)} ms), ` +
          `open-loop p99 ${r.open_p99_ms.toFixed(1)} ms, ${r.signals_per_s.toFixed(0)} signals/s (p99 ${r.signal_p99_ms.toFixed(1)} ms), ${r.rss_per_peer_kb.toFixed(1)} KiB/peer\n`,
      );
    }
  }
  const m = (t: Target, k: keyof RunResult) => median(runs[t].map((r) => r[k]));
  const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  const rows: [string, keyof RunResult][] = [
    ['ack p50 ms @1/s/peer', 'open_p50_ms'],
    ['ack p99 ms @1/s/peer', 'open_p99_ms'],
    ['announces/s (max)', 'announces_per_s'],
    ['announce p99 ms sat.', 'announce_p99_ms'],
    ['signals relayed/s', 'signals_per_s'],
    ['signal p50 ms', 'signal_p50_ms'],
    ['signal p99 ms', 'signal_p99_ms'],
    ['RSS per peer KiB', 'rss_per_peer_kb'],
    ['heap per peer KiB', 'heap_per_peer_kb'],
  ];
  console.log(
    `\ntracker benchmark: ${PEERS} peers, ${values.swarms} swarms, ${values.seconds} s per phase, median of ${REPS}`,
  );
  console.log(`${'metric'.padEnd(22)}${'ringswarm'.padStart(12)}${'bt-tracker'.padStart(12)}${'ratio'.padStart(8)}`);
  for (const [label, key] of rows) {
    const ours = m('ours', key);
    const bt = m('bt', key);
    console.log(
      `${label.padEnd(22)}${round(ours).toString().padStart(12)}${round(bt).toString().padStart(12)}${round(
        ours / bt,
        2,
      )
        .toString()
        .padStart(8)}`,
    );
  }
  const summary = {
    peers: PEERS,
    swarms: Number(values.swarms),
    reps: REPS,
    numwant: Number(values.numwant),
    announces_per_s: round(m('ours', 'announces_per_s')),
    bt_announces_per_s: round(m('bt', 'announces_per_s')),
    announce_ratio: round(m('ours', 'announces_per_s') / m('bt', 'announces_per_s'), 2),
    signals_per_s: round(m('ours', 'signals_per_s')),
    bt_signals_per_s: round(m('bt', 'signals_per_s')),
    signal_ratio: round(m('ours', 'signals_per_s') / m('bt', 'signals_per_s'), 2),
    // Ack latency at a fixed offered load of one announce per peer per second.
    p50_ms: round(m('ours', 'open_p50_ms'), 2),
    p99_ms: round(m('ours', 'open_p99_ms'), 2),
    bt_p50_ms: round(m('bt', 'open_p50_ms'), 2),
    bt_p99_ms: round(m('bt', 'open_p99_ms'), 2),
    saturated_p99_ms: round(m('ours', 'announce_p99_ms'), 2),
    bt_saturated_p99_ms: round(m('bt', 'announce_p99_ms'), 2),
    signal_p99_ms: round(m('ours', 'signal_p99_ms'), 2),
    bt_signal_p99_ms: round(m('bt', 'signal_p99_ms'), 2),
    rss_per_peer_kb: round(m('ours', 'rss_per_peer_kb'), 2),
    bt_rss_per_peer_kb: round(m('bt', 'rss_per_peer_kb'), 2),
    heap_per_peer_kb: round(m('ours', 'heap_per_peer_kb'), 2),
    bt_heap_per_peer_kb: round(m('bt', 'heap_per_peer_kb'), 2),
  };
  console.log(JSON.stringify(summary));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:tracker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
