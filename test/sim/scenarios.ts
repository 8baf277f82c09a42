/**
 * The simulator's scenarios, each a function of its parameters returning its figures.
 * Every scenario runs the real RingNode code on a SimNetwork; large rings start from the
 * converged routing state (what stabilization and fix-fingers reach) instead of replaying
 * 10^4 joins, and the churn scenario then runs real joins and leaves on top of it.
 */
import { RING_STABILIZE_INTERVAL_MS, type RingLookupResult } from '@ringswarm/shared';
import { SimNetwork, type SimNetworkOptions } from './network.js';
import { checkInvariants, RingOracle } from './oracle.js';

export interface BuildOptions {
  nodes: number;
  /** Successor-list length. */
  r: number;
  seed: number;
  loss: number;
  /** Run maintenance timers from the start. */
  maintenance: boolean;
  wire?: SimNetworkOptions['wire'];
}

/** A ring of `nodes` random IDs in its converged state. */
export function buildConvergedRing(o: BuildOptions): { net: SimNetwork; oracle: RingOracle } {
  const net = new SimNetwork({
    seed: o.seed,
    loss: o.loss,
    wire: o.wire ?? 'none',
    node: { successors: o.r, maintenance: o.maintenance },
  });
  const ids: bigint[] = [];
  for (let i = 0; i < o.nodes; i++) ids.push(net.randomId());
  const oracle = new RingOracle(net.space, ids);
  for (const id of ids) net.addHost(id).node.restore(oracle.convergedState(id, o.r));
  return { net, oracle };
}

export interface LookupBatch {
  lookups: number;
  correct: number;
  failed: number;
  hops: number[];
  timeouts: number;
}

/**
 * Starts `count` lookups at once, each from a random live node for a random key, runs the
 * network until they all finish, and checks each owner against the oracle.
 */
export function runLookups(net: SimNetwork, oracle: RingOracle, count: number): LookupBatch {
  const live = net.liveHosts();
  const batch: LookupBatch = { lookups: count, correct: 0, failed: 0, hops: [], timeouts: 0 };
  let open = count;
  for (let i = 0; i < count; i++) {
    const from = live[net.rng.int(live.length)]!;
    const key = net.rng.bigint(net.space.bits);
    from.node.lookup(key, (r: RingLookupResult) => {
      open--;
      batch.timeouts += r.timeouts;
      if (r.owner === null) {
        batch.failed++;
        return;
      }
      batch.hops.push(r.hops);
      if (r.owner === oracle.successorOf(key)) batch.correct++;
    });
  }
  // Lookups finish within a few simulated minutes even with many timeouts.
  for (let guard = 0; open > 0 && guard < 1_000; guard++) net.queue.runUntil(net.now + 1_000);
  if (open > 0) throw new Error(`${open} lookups never finished`);
  return batch;
}

export function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Nearest-rank percentile (p in [0, 100]). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const round5 = (x: number) => Math.round(x * 100_000) / 100_000;

// --- 1. path length ---------------------------------------------------------------------

export interface HopsRow {
  nodes: number;
  mean_hops: number;
  p1_hops: number;
  p99_hops: number;
  /** 0.5 * log2(N) + 1 */
  target_mean_hops: number;
  correct_fraction: number;
}

export function hopsScenario(o: { nodes: number; r: number; seed: number; lookups: number; loss: number }): HopsRow {
  const { net, oracle } = buildConvergedRing({ ...o, maintenance: false });
  const b = runLookups(net, oracle, o.lookups);
  return {
    nodes: o.nodes,
    mean_hops: round3(mean(b.hops)),
    p1_hops: percentile(b.hops, 1),
    p99_hops: percentile(b.hops, 99),
    target_mean_hops: round3(0.5 * Math.log2(o.nodes) + 1),
    correct_fraction: round5(b.correct / b.lookups),
  };
}

// --- 2. simultaneous failure, 3. repair ----------------------------------------------

export interface FailureResult {
  nodes: number;
  r: number;
  failed: number;
  correct_fraction: number;
  failed_lookups: number;
  mean_hops: number;
  baseline_mean_hops: number;
  hops_ratio: number;
  timeouts_per_lookup: number;
}

export interface RepairResult {
  nodes: number;
  live: number;
  r: number;
  /** Stabilization intervals after maintenance resumed until all invariants held; null if never. */
  rounds_to_invariants: number | null;
  /** Per round: nodes with a wrong successor, wrong list, wrong predecessor. */
  per_round: { round: number; wrong_successor: number; wrong_list: number; wrong_predecessor: number; ok: boolean }[];
}

/** r = 2 * ceil(log2 N), as in the Chord paper's failure experiment. */
export const failureR = (nodes: number) => 2 * Math.ceil(Math.log2(nodes));

/**
 * Builds a converged ring with maintenance frozen, measures a baseline, fails `fraction`
 * of the nodes at once, and measures again with every stale finger in place. With
 * `repairRounds`, maintenance then resumes and the invariants are checked at the end of
 * every stabilization interval.
 */
export function failureScenario(o: {
  nodes: number;
  r: number;
  seed: number;
  lookups: number;
  loss: number;
  fraction: number;
  repairRounds?: number;
}): { failure: FailureResult; repair: RepairResult | null } {
  const { net, oracle } = buildConvergedRing({ ...o, maintenance: false });
  const baseline = runLookups(net, oracle, o.lookups);
  const victims = net.rng.shuffle(net.liveHosts().map((h) => h.id)).slice(0, Math.floor(o.nodes * o.fraction));
  for (const id of victims) net.fail(id);
  const liveOracle = new RingOracle(
    net.space,
    net.liveHosts().map((h) => h.id),
  );
  const after = runLookups(net, liveOracle, o.lookups);
  const failure: FailureResult = {
    nodes: o.nodes,
    r: o.r,
    failed: victims.length,
    correct_fraction: round5(after.correct / after.lookups),
    failed_lookups: after.failed,
    mean_hops: round3(mean(after.hops)),
    baseline_mean_hops: round3(mean(baseline.hops)),
    hops_ratio: round3(mean(after.hops) / mean(baseline.hops)),
    timeouts_per_lookup: round3(after.timeouts / after.lookups),
  };
  if (o.repairRounds === undefined) return { failure, repair: null };

  const live = net.liveHosts();
  for (const h of live) h.node.startMaintenance();
  const perRound: RepairResult['per_round'] = [];
  let rounds: number | null = null;
  const start = net.now;
  for (let k = 1; k <= o.repairRounds; k++) {
    net.queue.runUntil(start + k * RING_STABILIZE_INTERVAL_MS);
    const report = checkInvariants(
      net.space,
      live.map((h) => ({ id: h.id, ...h.node.snapshot() })),
      o.r,
    );
    perRound.push({
      round: k,
      wrong_successor: report.wrongSuccessor,
      wrong_list: report.wrongList,
      wrong_predecessor: report.wrongPredecessor,
      ok: report.ok,
    });
    if (report.ok) {
      rounds = k;
      break;
    }
  }
  return {
    failure,
    repair: { nodes: o.nodes, live: live.length, r: o.r, rounds_to_invariants: rounds, per_round: perRound },
  };
}

// --- 5. maintenance cost ----------------------------------------------------------------

export interface MaintenanceResult {
  nodes: number;
  r: number;
  minutes: number;
  msgs_per_node_min: number;
  bytes_per_node_s: number;
  /** Messages per node per minute, by message type. */
  by_type: Record<string, number>;
}

/**
 * A converged ring with every maintenance task on its jittered timer: after a warm-up of
 * one fix-fingers cycle's worth of time, counts every message each node sends, with its
 * JSON wire size.
 */
export function maintenanceScenario(o: {
  nodes: number;
  r: number;
  seed: number;
  loss: number;
  minutes: number;
}): MaintenanceResult {
  const { net } = buildConvergedRing({ ...o, maintenance: true, wire: 'size' });
  net.queue.runUntil(net.now + 2 * 60_000);
  net.resetCounters();
  const ms = o.minutes * 60_000;
  net.queue.runUntil(net.now + ms);
  const perNodeMin = (n: number) => round3(n / o.nodes / o.minutes);
  const byType: Record<string, number> = {};
  for (const [type, n] of [...net.sentByType].sort()) byType[type] = perNodeMin(n);
  return {
    nodes: o.nodes,
    r: o.r,
    minutes: o.minutes,
    msgs_per_node_min: perNodeMin(net.messagesSent),
    bytes_per_node_s: round3(net.bytesSent / o.nodes / (ms / 1000)),
    by_type: byType,
  };
}

// --- 4. churn ------------------------------------------------------------------------

export type SessionModel = 'exponential' | 'pareto';

/** Shape of the Pareto session-time distribution (heavy-tailed, finite mean). */
export const PARETO_ALPHA = 2;

export interface ChurnResult {
  nodes: number;
  r: number;
  sessions: SessionModel;
  minutes: number;
  joins: number;
  departures: number;
  lookups: number;
  /** Lookups whose originator left or crashed before the answer came: not judged. */
  lookup_abandoned: number;
  /** Correct owners among the judged lookups. */
  lookup_success: number;
  /** Lookups that found no owner (the rest of the unsuccessful ones named a wrong one). */
  lookup_failed: number;
  mean_hops: number;
  providers: number;
  record_survival: number;
}

/**
 * A ring of `nodes` with maintenance and a DHT store on every node; every node publishes
 * a provider record (infohash -> its peer ID). Then, for `minutes`: Poisson arrivals and
 * departures (session times exponential or Pareto with the given median; half of the
 * departures graceful, half crashes), and one lookup per second from a random member,
 * judged against the live membership when it returns. Finally every live provider's
 * record is fetched from a random member.
 */
export function churnScenario(o: {
  nodes: number;
  r: number;
  seed: number;
  loss: number;
  minutes: number;
  sessions: SessionModel;
  medianSessionMs?: number;
  lookupsPerSecond?: number;
  gracefulFraction?: number;
  recordTtlMs?: number;
}): ChurnResult {
  const median = o.medianSessionMs ?? 10 * 60_000;
  const graceful = o.gracefulFraction ?? 0.5;
  const ttl = o.recordTtlMs ?? 30 * 60_000;
  const lookupRate = o.lookupsPerSecond ?? 1;
  const { net } = buildConvergedRing({ ...o, maintenance: true });
  const rng = net.rng;
  const meanSession = o.sessions === 'exponential' ? median / Math.LN2 : (median / 2 ** (1 / PARETO_ALPHA)) * 2;
  const session = () =>
    o.sessions === 'exponential' ? rng.exponential(meanSession) : rng.pareto(PARETO_ALPHA, median);

  // The membership (live, joined nodes) as the oracle sees it, rebuilt after each change.
  let cachedOracle: RingOracle | null = null;
  const currentOracle = () => {
    cachedOracle ??= new RingOracle(
      net.space,
      net
        .liveHosts()
        .filter((h) => h.node.joined)
        .map((h) => h.id),
    );
    return cachedOracle;
  };
  const membershipChanged = () => {
    cachedOracle = null;
  };
  const randomMember = () => {
    const ids = currentOracle().ids;
    return net.hosts.get(ids[rng.int(ids.length)]!)!;
  };

  /** Provider -> the key it publishes, once a put succeeded. */
  const published = new Map<bigint, bigint>();
  const publish = (id: bigint) => {
    const h = net.hosts.get(id)!;
    const key = rng.bigint(net.space.bits);
    h.dht!.provide(key, ttl, (error) => {
      if (!error) published.set(id, key);
    });
  };

  let churning = true;
  let joins = 0;
  let departures = 0;
  const depart = (id: bigint) => {
    const h = net.hosts.get(id);
    if (!churning || !h?.alive) return;
    departures++;
    if (rng.next() < graceful) {
      h.node.leave();
      h.alive = false;
    } else net.fail(id);
    membershipChanged();
  };
  const arrive = () => {
    if (!churning) return;
    const h = net.addHost();
    net.attachDht(h);
    h.node.on('joined', membershipChanged);
    h.node.join(randomMember().id, (error) => {
      if (error) {
        net.fail(h.id);
        return;
      }
      joins++;
      publish(h.id);
      net.queue.schedule(session(), () => depart(h.id));
    });
    net.queue.schedule(rng.exponential(meanSession / o.nodes), arrive);
  };

  for (const h of net.liveHosts()) {
    net.attachDht(h);
    publish(h.id);
  }
  net.queue.runUntil(net.now + 60_000);
  for (const h of net.liveHosts()) net.queue.schedule(session(), () => depart(h.id));
  net.queue.schedule(rng.exponential(meanSession / o.nodes), arrive);

  let lookups = 0;
  let ok = 0;
  let failed = 0;
  /** Lookups under way, by originator: those whose originator departs are abandoned, not failed. */
  const pending = new Map<object, bigint>();
  const hops: number[] = [];
  const lookup = () => {
    if (!churning) return;
    const from = randomMember();
    const key = rng.bigint(net.space.bits);
    lookups++;
    const token = {};
    pending.set(token, from.id);
    from.node.lookup(key, (r) => {
      pending.delete(token);
      if (r.owner === null) failed++;
      else if (r.owner === currentOracle().successorOf(key)) {
        ok++;
        hops.push(r.hops);
      }
    });
    net.queue.schedule(rng.exponential(1000 / lookupRate), lookup);
  };
  net.queue.schedule(rng.exponential(1000 / lookupRate), lookup);

  net.queue.runUntil(net.now + o.minutes * 60_000);
  churning = false;
  // Let the last lookups finish (no new churn meanwhile, and none started).
  net.queue.runUntil(net.now + 30_000);
  let abandoned = 0;
  for (const from of pending.values()) if (net.hosts.get(from)?.alive !== true) abandoned++;
  const judged = lookups - abandoned;

  // Fetch every live provider's record.
  const providers = [...published].filter(([id]) => net.hosts.get(id)?.alive === true);
  let found = 0;
  let open = providers.length;
  for (const [id, key] of providers) {
    randomMember().dht!.get(key, (r) => {
      open--;
      if (r.values.includes(net.space.toHex(id))) found++;
    });
  }
  for (let guard = 0; open > 0 && guard < 600; guard++) net.queue.runUntil(net.now + 1_000);

  return {
    nodes: o.nodes,
    r: o.r,
    sessions: o.sessions,
    minutes: o.minutes,
    joins,
    departures,
    lookups,
    lookup_abandoned: abandoned,
    lookup_success: round5(judged === 0 ? 0 : ok / judged),
    lookup_failed: failed,
    mean_hops: round3(mean(hops)),
    providers: providers.length,
    record_survival: round5(providers.length === 0 ? 0 : found / providers.length),
  };
}
