/**
 * `npm run nat-lab`: a small internet in network namespaces (see helpers/netns.ts for the
 * map) and four scenarios run through it with two CLI peers and the real tracker:
 *
 *   (a) same LAN             two machines behind one router: host <-> host
 *   (b) two ordinary NATs    MASQUERADE on both routers, STUN only: srflx <-> srflx, direct
 *   (c) a symmetric NAT      router B with --random-fully, coturn as TURN: relayed
 *   (d) no STUN/TURN         two NATs and nothing offered: no route, and why
 *
 * For each it prints the candidates a peer gathers in each namespace, the candidate pair
 * the download used, bytes moved and time; then a table and, as its last line, one JSON
 * object. Needs root (namespaces, veth pairs, iptables); everything is deleted at the end,
 * on Ctrl-C and on errors too.
 *
 *   npm run nat-lab            all four scenarios
 *   npm run nat-lab -- b d     only (b) and (d)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CliEvent, CliProcess } from '../helpers/cli-process.js';
import { startCoturn } from '../helpers/coturn.js';
import { fetchScript, noteLink } from '../helpers/leak-check.js';
import { NatLab, type NatLabOptions, netnsUnavailable, PUBLIC_IP } from '../helpers/netns.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const MiB = 1024 * 1024;
/** Small enough to keep a scenario to seconds, large enough to show a rate. */
const FILE_BYTES = 4 * MiB;
/** How long the seeder may take to hash the file and announce it. */
const SEED_TIMEOUT_MS = 30_000;
/** A download, or its failure, must be known within this (the peers give up on ICE after 20 s). */
const GET_TIMEOUT_MS = 60_000;
/** How long the ICE probe may take in a namespace. */
const GATHER_TIMEOUT_MS = 15_000;
/** The tracker's built-in STUN responder (UDP), as `npm start` has it. */
const STUN_PORT = 3478;

const GATHER = fileURLToPath(new URL('./gather.js', import.meta.url));

type PairClass = 'same-network' | 'direct-nat' | 'relayed';
type Expected = PairClass | 'no-route';

interface Candidate {
  type: string;
  protocol?: string;
  address: string;
  port: number;
}

interface Pair {
  local: Candidate;
  remote: Candidate;
}

interface Scenario {
  key: string;
  title: string;
  lab: NatLabOptions;
  ice: 'builtin-stun' | 'coturn-turn' | 'none';
  seeder: (lab: NatLab) => { ns: string; where: string };
  getter: (lab: NatLab) => { ns: string; where: string };
  expected: Expected;
  /** What the scenario shows, printed under its result. */
  lesson: string;
}

const SCENARIOS: Scenario[] = [
  {
    key: 'a',
    title: 'same LAN',
    lab: { secondPeerA: true },
    ice: 'builtin-stun',
    seeder: (l) => ({ ns: l.lanA, where: 'LAN A, machine a' }),
    getter: (l) => ({ ns: l.lanA2, where: 'LAN A, machine a2' }),
    expected: 'same-network',
    lesson: 'Two machines behind one router reach each other on their LAN addresses: no NAT on the path.',
  },
  {
    key: 'b',
    title: 'two ordinary NATs, built-in STUN',
    lab: {},
    ice: 'builtin-stun',
    seeder: (l) => ({ ns: l.lanA, where: 'LAN A behind router A' }),
    getter: (l) => ({ ns: l.lanB, where: 'LAN B behind router B' }),
    expected: 'direct-nat',
    lesson:
      "STUN tells each peer its router's public address and port; both send to the other's, " +
      'each router lets the replies in, and the bytes flow directly between the two NATs.',
  },
  {
    key: 'c',
    title: 'a symmetric NAT, coturn as TURN',
    lab: { randomFullyB: true },
    ice: 'coturn-turn',
    seeder: (l) => ({ ns: l.lanA, where: 'LAN A behind router A' }),
    getter: (l) => ({ ns: l.lanB, where: 'LAN B behind router B (--random-fully)' }),
    expected: 'relayed',
    lesson:
      'Router B picks a new public port for every destination, so the port STUN saw is not the one ' +
      'peer A must answer: hole punching fails, and the TURN server relays the bytes.',
  },
  {
    key: 'd',
    title: 'no STUN/TURN offered',
    lab: {},
    ice: 'none',
    seeder: (l) => ({ ns: l.lanA, where: 'LAN A behind router A' }),
    getter: (l) => ({ ns: l.lanB, where: 'LAN B behind router B' }),
    expected: 'no-route',
    lesson:
      'Each peer knows only its private LAN address (host candidates); behind two NATs neither is ' +
      'reachable from the other side, no STUN tells them their public mappings and no TURN relays: ' +
      'the connection fails. An operator fixes this with --stun-port (on by default) or a TURN server.',
  },
];

interface Gathered {
  urls: string[];
  candidates: Candidate[];
}

interface Result {
  key: string;
  title: string;
  iceServers: string[];
  candidates: { seeder: Candidate[]; getter: Candidate[] };
  pair: Pair | null;
  connection: PairClass | null;
  bytes: number;
  seconds: number;
  identical: boolean;
  serverSocketBytes: number | null;
  error: string | null;
  expected: Expected;
  pass: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function candidateOf(v: unknown): Candidate | null {
  if (!isRecord(v) || typeof v.type !== 'string' || typeof v.address !== 'string' || typeof v.port !== 'number') {
    return null;
  }
  const c: Candidate = { type: v.type, address: v.address, port: v.port };
  if (typeof v.protocol === 'string') c.protocol = v.protocol;
  return c;
}

function gatheredOf(v: unknown): Gathered {
  if (!isRecord(v) || !Array.isArray(v.urls) || !Array.isArray(v.candidates)) throw new Error('bad probe output');
  return {
    urls: v.urls.filter((u): u is string => typeof u === 'string'),
    candidates: v.candidates.flatMap((c: unknown) => candidateOf(c) ?? []),
  };
}

/** The getter's one connection from its `done` event, or null when it does not say. */
function pairOf(done: CliEvent): Pair | null {
  const [first] = Array.isArray(done.connections) ? done.connections : [];
  if (!isRecord(first)) return null;
  const local = candidateOf(first.local);
  const remote = candidateOf(first.remote);
  return local && remote ? { local, remote } : null;
}

function classify(pair: Pair): PairClass {
  const types = [pair.local.type, pair.remote.type];
  if (types.includes('relay')) return 'relayed';
  if (types.every((t) => t === 'host')) return 'same-network';
  return 'direct-nat';
}

const LABEL: Record<Expected, string> = {
  'same-network': 'same network',
  'direct-nat': 'direct across NAT',
  relayed: 'relayed (TURN)',
  'no-route': 'no route',
};

const side = (c: Candidate) => `${c.type} ${c.address}:${c.port}`;
const LOOPBACK = /^(127\.|::1$)/;

/** The UDP candidates that can leave the machine; the loopback and TCP ones are only counted. */
function candidateList(list: Candidate[]): string {
  const shown = list.filter((c) => c.protocol !== 'tcp' && !LOOPBACK.test(c.address));
  const rest = list.length - shown.length;
  return `${shown.map(side).join(', ') || 'none'}${rest > 0 ? ` (and ${rest} loopback or TCP)` : ''}`;
}

/** Everything one scenario starts, so it can all be ended. */
class Run {
  lab: NatLab | undefined;
  server: ServerProcess | undefined;
  readonly procs: CliProcess[] = [];

  async close(): Promise<void> {
    for (const p of this.procs.splice(0)) await p.stop('SIGKILL');
    try {
      await this.server?.stop();
    } finally {
      await this.lab?.destroy();
    }
  }
}

async function runScenario(s: Scenario, dir: string, file: Uint8Array, filePath: string): Promise<Result> {
  const run = new Run();
  const result: Result = {
    key: s.key,
    title: s.title,
    iceServers: [],
    candidates: { seeder: [], getter: [] },
    pair: null,
    connection: null,
    bytes: 0,
    seconds: 0,
    identical: false,
    serverSocketBytes: null,
    error: null,
    expected: s.expected,
    pass: false,
  };
  try {
    const lab = NatLab.create(s.lab);
    run.lab = lab;
    let iceArgs: string[] = [];
    if (s.ice === 'builtin-stun') {
      iceArgs = ['--stun-port', String(STUN_PORT)];
    } else if (s.ice === 'coturn-turn') {
      // coturn holds UDP 3478 on the public address; the tracker's own STUN stays off.
      const turn = await startCoturn(lab, lab.pub, PUBLIC_IP, dir);
      iceArgs = ['--turn-url', turn.turnUrl, '--turn-secret', turn.secret];
    }
    const server = await startServerProcess(
      ['--host', PUBLIC_IP, ...iceArgs],
      (command, args) => lab.spawn(lab.pub, command, args),
      { get: (url, headers) => lab.exec(lab.pub, process.execPath, ['-e', fetchScript(url, headers)]) },
    );
    run.server = server;
    const seederAt = s.seeder(lab);
    const getterAt = s.getter(lab);

    const probe = async (ns: string) =>
      gatheredOf(JSON.parse(await lab.exec(ns, process.execPath, [GATHER, server.url], GATHER_TIMEOUT_MS)));
    const [seederIce, getterIce] = await Promise.all([probe(seederAt.ns), probe(getterAt.ns)]);
    result.iceServers = getterIce.urls;
    result.candidates = { seeder: seederIce.candidates, getter: getterIce.candidates };

    const cli = (ns: string, args: string[]) => {
      const p = new CliProcess(args, (command, a) => lab.spawn(ns, command, a));
      run.procs.push(p);
      return p;
    };
    const seeder = cli(seederAt.ns, ['seed', filePath, '--tracker', server.url, '--json']);
    const link = noteLink(
      String((await seeder.next((e) => e.event === 'seeding', SEED_TIMEOUT_MS, 'the share link')).link),
    );
    const out = join(dir, `out-${s.key}`);
    const started = Date.now();
    const getter = cli(getterAt.ns, ['get', link, '--out', out, '--json', '--no-seed']);
    const end = await getter.next((e) => e.event === 'done' || e.event === 'error', GET_TIMEOUT_MS, 'the download');
    result.seconds = end.event === 'done' ? Number(end.seconds) : (Date.now() - started) / 1000;
    if (end.event === 'error') {
      result.error = `${String(end.code)}: ${String(end.message)}`;
    } else {
      result.bytes = Number(end.downloaded);
      result.pair = pairOf(end);
      result.connection = result.pair ? classify(result.pair) : null;
      result.identical = sha(readFileSync(join(out, 'payload.bin'))) === sha(file);
    }
    const stats = await lab.fetchJson(lab.pub, `${server.url}/api/stats`);
    if (isRecord(stats) && isRecord(stats.traffic)) {
      const { transportIn, transportOut } = stats.traffic;
      if (typeof transportIn === 'number' && typeof transportOut === 'number') {
        result.serverSocketBytes = transportIn + transportOut;
      }
    }
    result.pass =
      s.expected === 'no-route'
        ? result.error?.startsWith('ERR_NO_ROUTE') === true
        : result.identical && result.connection === s.expected;
    print(s, result, seederAt.where, getterAt.where);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    print(s, result, '', '');
  } finally {
    await run.close();
  }
  return result;
}

function print(s: Scenario, r: Result, seederWhere: string, getterWhere: string): void {
  const lines = [`(${s.key}) ${s.title}`];
  lines.push(`    ICE servers offered: ${r.iceServers.length > 0 ? r.iceServers.join(', ') : 'none'}`);
  if (seederWhere) lines.push(`    candidates, seeder (${seederWhere}): ${candidateList(r.candidates.seeder)}`);
  if (getterWhere) lines.push(`    candidates, getter (${getterWhere}): ${candidateList(r.candidates.getter)}`);
  if (r.pair) {
    lines.push(`    pair chosen: getter ${side(r.pair.local)} <-> seeder ${side(r.pair.remote)}`);
    lines.push(
      `    moved ${(r.bytes / MiB).toFixed(1)} MiB in ${r.seconds.toFixed(2)} s ` +
        `(${(r.bytes / MiB / Math.max(r.seconds, 0.001)).toFixed(1)} MiB/s), ` +
        `${r.identical ? 'SHA-256 identical' : 'BYTES DIFFER'}; the tracker saw ${r.serverSocketBytes ?? '?'} socket bytes`,
    );
  }
  if (r.error) lines.push(`    failed after ${r.seconds.toFixed(1)} s: ${r.error}`);
  lines.push(`    ${s.lesson}`);
  const got = r.error ? (r.error.startsWith('ERR_NO_ROUTE') ? 'no route' : 'error') : LABEL[r.connection ?? 'no-route'];
  lines.push(`    expected ${LABEL[s.expected]}, got ${got}: ${r.pass ? 'as expected' : 'NOT AS EXPECTED'}`);
  console.log(`${lines.join('\n')}\n`);
}

function table(results: Result[]): string {
  const rows = [
    ['scenario', 'ICE offered', 'pair (getter <-> seeder)', 'connection', 'MiB', 's', 'result'],
    ...results.map((r) => [
      `(${r.key}) ${r.title}`,
      r.iceServers.map((u) => u.split('?')[0]).join(' ') || 'none',
      r.pair ? `${r.pair.local.type} <-> ${r.pair.remote.type}` : '-',
      r.error?.startsWith('ERR_NO_ROUTE') ? 'no route' : r.connection ? LABEL[r.connection] : 'error',
      (r.bytes / MiB).toFixed(1),
      r.seconds.toFixed(1),
      r.pass ? 'ok' : 'FAIL',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    console.error(
      'nat-lab needs root: it builds network namespaces, veth pairs and iptables NAT rules, which only root may ' +
        'create. Run it as root (for example: sudo npm run nat-lab).',
    );
    return 1;
  }
  const unavailable = netnsUnavailable();
  if (unavailable) {
    console.error(`nat-lab cannot run: ${unavailable}`);
    return 1;
  }
  const keys = process.argv.slice(2);
  const chosen = keys.length > 0 ? SCENARIOS.filter((s) => keys.includes(s.key)) : SCENARIOS;
  if (chosen.length !== keys.length && keys.length > 0) {
    console.error(`nat-lab: scenarios are ${SCENARIOS.map((s) => s.key).join(', ')}; got ${keys.join(' ')}`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ringswarm-nat-lab-'));
  // Ctrl-C: the 'exit' hook of helpers/netns.ts deletes the namespaces and ends what ran in them.
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\nnat-lab: ${signal}, deleting the lab`);
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const file = new Uint8Array(randomBytes(FILE_BYTES));
    const filePath = join(dir, 'payload.bin');
    writeFileSync(filePath, file);
    console.log(
      `NAT lab: LAN A 192.0.2.0/24 and LAN B 198.51.100.0/24 behind NAT routers 203.0.113.10 and .20; ` +
        `tracker on ${PUBLIC_IP}; ${FILE_BYTES / MiB} MiB per transfer\n`,
    );
    const results: Result[] = [];
    for (const s of chosen) results.push(await runScenario(s, dir, file, filePath));
    console.log(table(results));
    const pass = results.every((r) => r.pass);
    console.log(JSON.stringify({ bench: 'nat-lab', fileBytes: FILE_BYTES, pass, scenarios: results }));
    return pass ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`nat-lab: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
