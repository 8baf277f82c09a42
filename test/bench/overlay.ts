/**
 * `npm run bench:overlay`: the ring on real WebRTC. N Node peers (node-datachannel, the CLI's
 * stack, or @roamhq/wrtc with --wrtc roamhq) in this process join one after another through
 * a tracker on loopback; then:
 * - join: time from a client's start to its JOIN being answered (median, p99);
 * - convergence: time until every successor and predecessor is right;
 * - lookups of random keys from random peers, once the fingers are filled: hops and
 *   latency (a lookup that must first connect to a node it asks pays for that connection),
 *   against the Chord paper's mean path length of 0.5 * log2(N);
 * - connection setup between peers with no link yet, signaled through the ring against
 *   signaled through the tracker, alternating, in the same run;
 * - maintenance: ring messages sent per peer per minute while nothing else happens;
 * - connection churn: peers leave (a random one every --churn-every ms) and new ones join
 *   for --churn seconds, and every connection each peer creates (either end) is counted,
 *   per peer per hour of being up (Chrome allows a tab 500 in its lifetime).
 *
 * Options: --peers (24) --lookups (300) --pairs (20 per path) --settle seconds (20)
 * --window seconds of maintenance counting (30) --churn seconds (60) --churn-every ms (10000:
 * with 24 peers, a session of 4 minutes on average) --role member|auto (member: every peer a
 * member of the ring, as the CLI runs; auto: as a page runs, a leaf where the ring has room)
 * --wrtc ndc|roamhq (ndc; @roamhq/wrtc crashes the process in some runs, see the README).
 * Prints a table, then one JSON line.
 */
import { parseArgs } from 'node:util';
import { loadWrtc, type WrtcImpl } from '@ringswarm/cli';
import { createPeerLink, RingSpace, RingswarmClient } from '@ringswarm/shared';
import { startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { ringProblems } from '../helpers/ring-check.js';
import { sleep } from '../helpers/until.js';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '24' },
    lookups: { type: 'string', default: '300' },
    pairs: { type: 'string', default: '20' },
    settle: { type: 'string', default: '20' },
    window: { type: 'string', default: '30' },
    churn: { type: 'string', default: '60' },
    'churn-every': { type: 'string', default: '10000' },
    role: { type: 'string', default: 'member' },
    wrtc: { type: 'string', default: 'ndc' },
  },
});
if (values.role !== 'member' && values.role !== 'auto')
  throw new Error(`--role must be member or auto, got ${values.role}`);
const ROLE: 'member' | 'auto' = values.role;
const PEERS = Number(values.peers);
const LOOKUPS = Number(values.lookups);
const PAIRS = Number(values.pairs);
if (values.wrtc !== 'ndc' && values.wrtc !== 'roamhq')
  throw new Error(`--wrtc must be ndc or roamhq, got ${values.wrtc}`);
const WRTC: WrtcImpl = values.wrtc;
const wrtc = loadWrtc(WRTC);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const pct = (xs: number[], p: number) => {
  const s = sorted(xs);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

async function main(): Promise<void> {
  // Every peer is on 127.0.0.1: the per-address limits (new IDs, connections at once,
  // handshakes per 10 s) are off here (--peers may pass them).
  const server = await startServer(
    { port: 0, host: '127.0.0.1', maxIdsPerIp: 0, maxConnsPerIp: 0, handshakesPerIp: 0 },
    { logger: pino({ level: 'silent' }) },
  );
  const clients: RingswarmClient[] = [];
  const joinMs: number[] = [];
  /**
   * Connections each client created (either end), since when they are counted, and whether it
   * joined during the churn (a joiner) or was there when it began.
   */
  const created = new Map<RingswarmClient, { conns: number; since: number; joiner: boolean }>();
  const startClient = async (joiner = false): Promise<RingswarmClient> => {
    const counter = { conns: 0, since: performance.now(), joiner };
    const client = new RingswarmClient({
      trackerUrl: server.url,
      wrtc,
      ring: { role: ROLE },
      createLink: (remoteId, initiator, options) => {
        counter.conns++;
        return createPeerLink(remoteId, initiator, options);
      },
    });
    created.set(client, counter);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('a peer did not join within 30 s')), 30_000);
      client.once('ring-joined', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return client;
  };
  try {
    for (let i = 0; i < PEERS; i++) {
      const started = performance.now();
      clients.push(await startClient());
      joinMs.push(performance.now() - started);
    }
    const lastJoin = performance.now();
    for (;;) {
      const problems = ringProblems(clients.map((c) => c.ringStats()!));
      if (problems.length === 0) break;
      if (performance.now() - lastJoin > 60_000) {
        throw new Error(`the ring did not converge within 60 s: ${problems.join('; ')}`);
      }
      await sleep(50);
    }
    const convergeMs = performance.now() - lastJoin;
    process.stderr.write(`${PEERS} peers joined; ring correct ${Math.round(convergeMs)} ms after the last join\n`);

    // Let fix-fingers fill the tables, then count maintenance alone.
    await sleep(Number(values.settle) * 1000);
    const sentBefore = clients.map((c) => c.ringStats()!.messagesSent);
    const byTypeBefore = clients.map((c) => c.ringStats()!.messagesSentByType);
    const windowMs = Number(values.window) * 1000;
    await sleep(windowMs);
    const sent = clients.map((c, i) => c.ringStats()!.messagesSent - sentBefore[i]!);
    const maintPerMin = (mean(sent) * 60_000) / windowMs;
    // Which messages the maintenance sends, per peer per minute.
    const maintByType: Record<string, number> = {};
    clients.forEach((c, i) => {
      for (const [type, n] of Object.entries(c.ringStats()!.messagesSentByType)) {
        maintByType[type] = (maintByType[type] ?? 0) + n - (byTypeBefore[i]![type] ?? 0);
      }
    });
    for (const type of Object.keys(maintByType)) {
      maintByType[type] = round((maintByType[type]! * 60_000) / windowMs / clients.length);
    }
    const fingers = mean(clients.map((c) => c.ringStats()!.fingers.length));

    // Lookups of random keys from random peers.
    const space = new RingSpace();
    const hops: number[] = [];
    const lookupMs: number[] = [];
    let failed = 0;
    for (let i = 0; i < LOOKUPS; i++) {
      const client = clients[Math.floor(Math.random() * clients.length)]!;
      const key = space.fromBytes(crypto.getRandomValues(new Uint8Array(20)));
      const started = performance.now();
      const result = await new Promise<{ owner: bigint | null; hops: number }>((resolve) =>
        client.overlay!.node.lookup(key, resolve),
      );
      if (result.owner === null) failed++;
      else {
        hops.push(result.hops);
        lookupMs.push(performance.now() - started);
      }
    }

    // Connection setup between peers with no link yet: ring and tracker signaling in turns.
    const setup: Record<'ring' | 'tracker', number[]> = { ring: [], tracker: [] };
    const tried = new Set<string>();
    for (let n = 0; n < PAIRS * 2 * 20 && (setup.ring.length < PAIRS || setup.tracker.length < PAIRS); n++) {
      const via = setup.ring.length <= setup.tracker.length ? 'ring' : 'tracker';
      const a = clients[Math.floor(Math.random() * clients.length)]!;
      // The tracker relays only between peers it introduced to each other: for that path, b is
      // one of the ring members a bootstrap answer names to a, as for a real newcomer.
      const b =
        via === 'ring'
          ? clients[Math.floor(Math.random() * clients.length)]!.peerId
          : (await a.tracker.ringBootstrap(8)).find((p) => !a.hasLink(p));
      if (b === undefined) continue;
      const key = [a.peerId, b].sort().join();
      if (a.peerId === b || tried.has(key) || a.hasLink(b)) continue;
      tried.add(key);
      try {
        setup[via].push(await a.connect(b, { via }));
      } catch (err) {
        process.stderr.write(`setup via ${via} failed: ${(err as Error).message}\n`);
      }
    }

    // Connection churn: one peer leaves and a new one joins every --churn-every ms.
    const churnMs = Number(values.churn) * 1000;
    const churnEvery = Number(values['churn-every']);
    let gone = { conns: 0, ms: 0 };
    /** What each joiner created while it was there, and what those there from the start created. */
    const joiners: number[] = [];
    const stayers: number[] = [];
    const churnStart = performance.now();
    for (const counter of created.values()) {
      counter.conns = 0;
      counter.since = churnStart;
    }
    while (performance.now() - churnStart < churnMs) {
      await sleep(churnEvery);
      const i = Math.floor(Math.random() * clients.length);
      const leaving = clients[i]!;
      const counter = created.get(leaving)!;
      gone = { conns: gone.conns + counter.conns, ms: gone.ms + performance.now() - counter.since };
      if (counter.joiner) joiners.push(counter.conns);
      created.delete(leaving);
      leaving.destroy();
      clients[i] = await startClient(true);
    }
    let churnConns = gone.conns;
    let churnPeerMs = gone.ms;
    const churnEnd = performance.now();
    for (const counter of created.values()) {
      churnConns += counter.conns;
      churnPeerMs += churnEnd - counter.since;
      (counter.joiner ? joiners : stayers).push(counter.conns);
    }
    const connsPerPeerHour = churnConns / (churnPeerMs / 3_600_000);
    // A tab's lifetime cap is reached by staying: a stayer's own rate is what a day-long tab
    // would spend, apart from its own join.
    const stayerConnsPerHour = mean(stayers) / (churnMs / 3_600_000);

    const chordHops = 0.5 * Math.log2(PEERS);
    const result = {
      peers: PEERS,
      join_ms_median: round(pct(joinMs, 50)),
      join_ms_p99: round(pct(joinMs, 99)),
      converge_ms: Math.round(convergeMs),
      lookup_hops_median: pct(hops, 50),
      lookup_hops_mean: round(mean(hops), 2),
      lookup_hops_p99: pct(hops, 99),
      chord_paper_hops_mean: round(chordHops, 2),
      lookup_hops_vs_chord: round(mean(hops) / chordHops, 2),
      lookup_ms_median: round(pct(lookupMs, 50)),
      lookup_ms_p99: round(pct(lookupMs, 99)),
      lookups: LOOKUPS,
      lookups_failed: failed,
      ring_signal_setup_ms_median: round(pct(setup.ring, 50)),
      ring_signal_setup_ms_p99: round(pct(setup.ring, 99)),
      tracker_signal_setup_ms_median: round(pct(setup.tracker, 50)),
      tracker_signal_setup_ms_p99: round(pct(setup.tracker, 99)),
      ring_vs_tracker_setup: round(pct(setup.ring, 50) / pct(setup.tracker, 50), 2),
      setups: { ring: setup.ring.length, tracker: setup.tracker.length },
      maint_msgs_per_peer_min: round(maintPerMin),
      maint_msgs_by_type: maintByType,
      fingers_per_peer: round(fingers, 1),
      conns_per_peer_hour: round(connsPerPeerHour),
      stayer_conns_per_peer_hour: round(stayerConnsPerHour),
      stayers: stayers.length,
      conns_per_joiner: round(mean(joiners), 1),
      joiners: joiners.length,
      churn: { seconds: Number(values.churn), leave_join_every_ms: churnEvery },
      role: ROLE,
      wrtc: WRTC,
    };
    const rows: [string, string][] = [
      ['peers', String(PEERS)],
      ['join (median / p99)', `${result.join_ms_median} / ${result.join_ms_p99} ms`],
      ['ring correct after the last join', `${result.converge_ms} ms`],
      [
        'lookup hops (median / mean / p99)',
        `${result.lookup_hops_median} / ${result.lookup_hops_mean} / ${result.lookup_hops_p99}`,
      ],
      ['Chord paper mean hops, 0.5 log2 N', `${result.chord_paper_hops_mean} (ours ${result.lookup_hops_vs_chord}x)`],
      ['lookup latency (median / p99)', `${result.lookup_ms_median} / ${result.lookup_ms_p99} ms`],
      ['lookups failed', `${failed} of ${LOOKUPS}`],
      [
        'setup signaled via ring (median / p99)',
        `${result.ring_signal_setup_ms_median} / ${result.ring_signal_setup_ms_p99} ms`,
      ],
      [
        'setup signaled via tracker (median / p99)',
        `${result.tracker_signal_setup_ms_median} / ${result.tracker_signal_setup_ms_p99} ms`,
      ],
      ['ring / tracker setup', String(result.ring_vs_tracker_setup)],
      ['maintenance messages per peer per minute', String(result.maint_msgs_per_peer_min)],
      [
        '  by type',
        Object.entries(result.maint_msgs_by_type)
          .map(([t, n]) => `${t} ${n}`)
          .join(', '),
      ],
      ['distinct fingers per peer', String(result.fingers_per_peer)],
      [
        `connections created per peer-hour (one leaves, one joins every ${churnEvery} ms)`,
        String(result.conns_per_peer_hour),
      ],
      [`  of the ${result.stayers} there throughout, per hour`, String(result.stayer_conns_per_peer_hour)],
      [`  per joiner, its join included (${result.joiners})`, String(result.conns_per_joiner)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const c of clients) c.destroy();
    await sleep(300);
    await server.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:overlay failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
