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
 * announce answers carry none, so --numwant 0 compares equal work),
 * --cluster N (0 = off): also run N ringswarm instances on one redis-server (started here on
 * a free port, no persistence) in the same run, peers spread over the instances, and report
 * the cluster's figures, their ratio to one in-memory instance, and Redis round trips per
 * announce.
 * In the same run, a bare socket.io server with the same events and answers and nothing
 * else (anchors/bare-server.mjs: no key check, validation, limits or introductions): the
 * floor under any tracker inside socket.io, so the table says how much is ours and how much
 * is socket.io's.
 * Prints a table, then one JSON line with the medians and ratios (ours / bittorrent-tracker).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sleep } from '../helpers/until.js';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '5000' },
    swarms: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '10' },
    reps: { type: 'string', default: '3' },
    numwant: { type: 'string', default: '10' },
    cluster: { type: 'string', default: '0' },
  },
});
const CLUSTER = Number(values.cluster);
const PEERS = Number(values.peers);
const REPS = Number(values.reps);

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ROOT = here('../../../../');
const ANCHORS = `${ROOT}test/bench/anchors`;
const OUR_SERVER = `${ROOT}signaling-server/dist/index.js`;
const LOADGEN = here('./tracker-load.js');

/** `bare`: socket.io alone with the same events (anchors/bare-server.mjs), the floor under our tracker. */
type Target = 'ours' | 'bt' | 'bare' | 'cluster';

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
  announces_total: number;
  /** Redis round trips made by announces per announce; 0 without Redis. */
  redis_rtt_per_announce: number;
  /** Every Redis round trip of the run (announces, signals, connects, heartbeats). */
  redis_rtt_total: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A throwaway redis-server for the cluster run; resolves with its URL once it accepts connections. */
async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error('--cluster needs redis-server: sudo apt-get install -y redis-server');
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await lineMatching(child, /Ready to accept connections/, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, child };
}

function ensureAnchors(): void {
  if (existsSync(`${ANCHORS}/node_modules/bittorrent-tracker`)) return;
  process.stderr.write('installing bittorrent-tracker for comparison (test/bench/anchors, --ignore-scripts)…\n');
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: ANCHORS, stdio: 'inherit' });
}

/** Asks a server runner to collect garbage and report `process.memoryUsage()`. */
async function memoryAfterGc(
  server: ChildProcess,
): Promise<{ rss: number; heapUsed: number; calls?: Record<string, number> }> {
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

async function runOnce(target: Target): Promise<RunResult> {
  const redis = target === 'cluster' ? await startRedis() : undefined;
  // Every server runs from a runner script in test/bench/anchors with the same memory probe.
  const servers = Array.from({ length: target === 'cluster' ? CLUSTER : 1 }, () =>
    spawn(process.execPath, ['--expose-gc', `${ANCHORS}/${target === 'cluster' ? 'ours' : target}-server.mjs`], {
      cwd: ANCHORS,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: redis ? { ...process.env, REDIS_URL: redis.url } : process.env,
    }),
  );
  let loadgen: ChildProcess | undefined;
  try {
    const ports = await Promise.all(
      servers.map(async (s) => (await lineMatching(s, /listening on (\d+)/, `${target} server`))[1]!),
    );
    const port = ports.join(',');
    await sleep(500);
    const memory = async () => {
      const all = await Promise.all(servers.map(memoryAfterGc));
      return { rss: sum(all.map((m) => m.rss)), heapUsed: sum(all.map((m) => m.heapUsed)), all };
    };
    const baseline = await memory();
    loadgen = spawn(
      process.execPath,
      [
        LOADGEN,
        '--target',
        target,
        '--port',
        port,
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
    const loaded = await memory();
    const result = lineMatching(loadgen, /^(\{.*\})$/, 'load generator');
    loadgen.stdin?.write('go\n');
    const stats = JSON.parse((await result)[1]!);
    // Redis round trips counted by each instance's registry since it started.
    const calls: Record<string, number> = {};
    for (const m of (await memory()).all) {
      for (const [name, n] of Object.entries(m.calls ?? {})) calls[name] = (calls[name] ?? 0) + n;
    }
    // The announce handler's registry calls (one `announce` script each, unless it changes).
    const announceCalls = ['announce', 'upsert', 'sample', 'counts'].reduce((n, k) => n + (calls[k] ?? 0), 0);
    return {
      ...stats,
      rss_per_peer_kb: (loaded.rss - baseline.rss) / 1024 / PEERS,
      heap_per_peer_kb: (loaded.heapUsed - baseline.heapUsed) / 1024 / PEERS,
      redis_rtt_per_announce: announceCalls / stats.announces_total,
      redis_rtt_total: sum(Object.values(calls)),
    };
  } finally {
    if (loadgen) await stop(loadgen);
    await Promise.all(servers.map(stop));
    if (redis) await stop(redis.child);
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
  const runs: Record<Target, RunResult[]> = { ours: [], bt: [], bare: [], cluster: [] };
  const targets: Target[] = CLUSTER > 0 ? ['ours', 'bt', 'bare', 'cluster'] : ['ours', 'bt', 'bare'];
  for (let rep = 1; rep <= REPS; rep++) {
    for (const target of targets) {
      const r = await runOnce(target);
      runs[target].push(r);
      process.stderr.write(
        `rep ${rep} ${target.padEnd(7)}: ${r.announces_per_s.toFixed(0)} announces/s (p99 ${r.announce_p99_ms.toFixed(1)} ms), ` +
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
  console.log(
    `${'metric'.padEnd(22)}${'ringswarm'.padStart(12)}${'bt-tracker'.padStart(12)}${'ratio'.padStart(8)}` +
      `${'bare s.io'.padStart(12)}${'ours/bare'.padStart(10)}`,
  );
  for (const [label, key] of rows) {
    const ours = m('ours', key);
    const bt = m('bt', key);
    const bare = m('bare', key);
    console.log(
      `${label.padEnd(22)}${round(ours).toString().padStart(12)}${round(bt).toString().padStart(12)}${round(
        ours / bt,
        2,
      )
        .toString()
        .padStart(8)}${round(bare).toString().padStart(12)}${round(ours / bare, 2)
        .toString()
        .padStart(10)}`,
    );
  }
  let cluster: Record<string, number> = {};
  if (CLUSTER > 0) {
    console.log(`\n${CLUSTER} instances on one Redis vs 1 in-memory instance (same run; peers spread over instances)`);
    console.log(
      `${'metric'.padEnd(22)}${'1 instance'.padStart(12)}${`cluster ${CLUSTER}`.padStart(12)}${'ratio'.padStart(8)}`,
    );
    for (const [label, key] of rows) {
      const one = m('ours', key);
      const many = m('cluster', key);
      console.log(
        `${label.padEnd(22)}${round(one).toString().padStart(12)}${round(many).toString().padStart(12)}${round(
          many / one,
          2,
        )
          .toString()
          .padStart(8)}`,
      );
    }
    console.log(`Redis round trips per announce: ${round(m('cluster', 'redis_rtt_per_announce'), 2)}`);
    cluster = {
      cluster: CLUSTER,
      cluster_announces_per_s: round(m('cluster', 'announces_per_s')),
      cluster_announce_ratio: round(m('cluster', 'announces_per_s') / m('ours', 'announces_per_s'), 2),
      cluster_signals_per_s: round(m('cluster', 'signals_per_s')),
      cluster_signal_ratio: round(m('cluster', 'signals_per_s') / m('ours', 'signals_per_s'), 2),
      cluster_p50_ms: round(m('cluster', 'open_p50_ms'), 2),
      cluster_p99_ms: round(m('cluster', 'open_p99_ms'), 2),
      cluster_saturated_p99_ms: round(m('cluster', 'announce_p99_ms'), 2),
      cluster_signal_p99_ms: round(m('cluster', 'signal_p99_ms'), 2),
      cluster_rss_per_peer_kb: round(m('cluster', 'rss_per_peer_kb'), 2),
      redis_rtt_per_announce: round(m('cluster', 'redis_rtt_per_announce'), 2),
      redis_rtt_total: round(m('cluster', 'redis_rtt_total'), 0),
    };
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
    // socket.io alone with the same events: what any tracker inside socket.io can reach here.
    bare_announces_per_s: round(m('bare', 'announces_per_s')),
    bare_signals_per_s: round(m('bare', 'signals_per_s')),
    bare_p99_ms: round(m('bare', 'open_p99_ms'), 2),
    bare_rss_per_peer_kb: round(m('bare', 'rss_per_peer_kb'), 2),
    ours_vs_bare_announces: round(m('ours', 'announces_per_s') / m('bare', 'announces_per_s'), 2),
    ours_vs_bare_signals: round(m('ours', 'signals_per_s') / m('bare', 'signals_per_s'), 2),
    bare_vs_bt_announces: round(m('bare', 'announces_per_s') / m('bt', 'announces_per_s'), 2),
    bare_vs_bt_signals: round(m('bare', 'signals_per_s') / m('bt', 'signals_per_s'), 2),
    ...cluster,
  };
  console.log(JSON.stringify(summary));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:tracker: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
