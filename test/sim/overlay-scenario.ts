/**
 * `--scenario overlay`: the real overlay on the simulated link layer (overlay-net.ts) at one
 * size, under tab churn, with one lookup per node per minute and provider records published
 * by a tenth of the nodes; returns the figures the targets are stated in.
 */
import { MAX_LINKS, OVERLAY_RECORD_TTL_MS, RING_DEFAULT_SUCCESSORS, type RingLookupResult } from '@ringswarm/shared';
import { RingOracle } from './oracle.js';
import { OverlayNet, type OverlayNetOptions, type SimNode } from './overlay-net.js';

export interface OverlayScenarioOptions {
  nodes: number;
  seed: number;
  /** Share of always-on CLI nodes (default 0.05). */
  cliFraction?: number;
  /** How long the ring runs (connections open, churn starts) before counting starts (default 120 s). */
  warmupMs?: number;
  /** How long everything is counted (default 300 s). */
  measureMs?: number;
  /** Share of nodes that publish a provider record (default 0.1). */
  providerFraction?: number;
  net?: Omit<OverlayNetOptions, 'seed'>;
}

export interface OverlayRow {
  nodes: number;
  /** Lookups answered with the key's live owner (when it started or when it was answered), of all made. */
  lookup_success: number;
  lookups: number;
  mean_hops: number;
  median_new_links_per_lookup: number;
  p99_new_links_per_lookup: number;
  /** The most links any node held at once (the budget is 32). */
  max_links: number;
  /** Connections created by tabs (both ends count) per tab-hour. */
  conns_per_tab_hour: number;
  /** Ring messages sent per node per minute: maintenance, the lookups and the DHT's. */
  msgs_per_node_min: number;
  /** The same without the measured lookups' own messages and the record checks: maintenance alone. */
  maint_msgs_per_node_min: number;
  /** Signals for connection set-ups per node per minute, each hop through the ring counted. */
  signal_msgs_per_node_min: number;
  /** Record checks that found a live provider's record. */
  record_survival: number;
  record_checks: number;
  /** Ring members at the end (the rest of the live nodes are leaves). */
  members: number;
  msgs_by_type: Record<string, number>;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
/** Tabs that may be leaves arrive over this long at the start of the warm-up. */
const TAB_ARRIVAL_MS = 30_000;

/** The targets of `--scenario overlay` at one size, each with whether the row meets it. */
export function overlayTargets(row: OverlayRow): { name: string; met: boolean }[] {
  return [
    { name: 'lookups', met: row.lookup_success >= 0.999 },
    { name: 'hops', met: row.mean_hops <= 0.5 * Math.log2(row.nodes) + 1 },
    { name: 'new-links', met: row.median_new_links_per_lookup === 0 && row.p99_new_links_per_lookup <= 1 },
    { name: 'budget', met: row.max_links <= MAX_LINKS },
    { name: 'conns', met: row.conns_per_tab_hour <= 60 },
    { name: 'maintenance', met: row.maint_msgs_per_node_min <= 40 },
    { name: 'records', met: row.record_survival >= 0.999 },
  ];
}

export const overlayTargetsMet = (row: OverlayRow): string[] =>
  overlayTargets(row)
    .filter((t) => t.met)
    .map((t) => t.name);
export const overlayTargetsMissed = (row: OverlayRow): string[] =>
  overlayTargets(row)
    .filter((t) => !t.met)
    .map((t) => t.name);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function overlayScenario(o: OverlayScenarioOptions): Promise<OverlayRow> {
  const net = new OverlayNet({ seed: o.seed, ...o.net });
  const cliFraction = o.cliFraction ?? 0.05;
  const providerFraction = o.providerFraction ?? 0.1;
  const warmupMs = o.warmupMs ?? 120_000;
  const measureMs = o.measureMs ?? 300_000;
  /** Providers by node ID: the key each published, and since when. */
  const providers = new Map<string, { key: bigint; since: number }>();
  // Every node that starts (replacements and reloads too) may be a provider; a reloading
  // one publishes its key again.
  net.onNodeAdded = (node: SimNode) => {
    const had = providers.get(node.id);
    if (!had && net.rng.next() >= providerFraction) return;
    node.overlay.once('joined', () => {
      const key = had?.key ?? net.rng.bigint(net.space.bits);
      node.overlay.dht.provide(key, OVERLAY_RECORD_TTL_MS);
      providers.set(node.id, { key, since: net.now });
    });
  };
  // The ring starts from its converged routing state (as the pure-core scenarios do), with no
  // connection open: the first maintenance rounds open them, before counting starts.
  // Tabs that may be leaves (the page's role) come in over the first half minute, joining or
  // attaching the way a page does; with every tab a member, they start converged as well.
  const ids: bigint[] = [];
  for (let i = 0; i < o.nodes; i++) ids.push(net.space.fromHex(net.randomId()));
  const kinds = ids.map((_, i) => (i === 0 || net.rng.next() < cliFraction ? 'cli' : 'tab'));
  const converged = net.tabRole === 'member' ? ids : ids.filter((_, i) => kinds[i] === 'cli');
  const oracle = new RingOracle(net.space, converged);
  for (const [i, id] of ids.entries()) {
    const kind = kinds[i]!;
    const hex = net.space.toHex(id);
    if (kind === 'cli' || net.tabRole === 'member') {
      net.addNode(kind, hex, oracle.convergedState(id, RING_DEFAULT_SUCCESSORS));
    } else {
      net.addNode(kind, hex, undefined, net.rng.next() * TAB_ARRIVAL_MS);
    }
  }
  await net.runUntil(warmupMs);
  if (process.env.SIM_DEBUG) process.stderr.write(`${JSON.stringify(net.ringReport())}\n`);
  net.resetCounters();
  const started = net.now;
  const end = started + measureMs;

  // One lookup per node per minute, on average: every second, a sixtieth of the members.
  const newLinks: number[] = [];
  const hops: number[] = [];
  let lookups = 0;
  /** Lookups started and not answered yet, by their asker: one whose asker left never ends. */
  const open = new Set<{ from: SimNode }>();
  let correct = 0;
  let lookupMessages = 0;
  let checks = 0;
  let found = 0;
  const tick = () => {
    if (net.now >= end) return;
    net.queue.schedule(1_000, tick);
    const live = [...net.nodes.values()].filter((n) => n.alive && n.overlay.joined);
    // Tab-seconds by state, beside the C: counts of connections by the state they opened in.
    if (process.env.SIM_DEBUG) {
      for (const n of net.nodes.values()) {
        if (n.alive && n.kind === 'tab') net.why(`T:${n.state}`);
      }
    }
    const count = Math.max(1, Math.round(live.length / 60));
    for (let i = 0; i < count; i++) {
      const from = live[net.rng.int(live.length)]!;
      const key = net.rng.bigint(net.space.bits);
      const linksBefore = from.lookupLinksOpened;
      const hex = net.space.toHex(key);
      // The owner may change while the lookup runs (a node joins in front of it, or it goes):
      // either the owner when it started or the one when it was answered is right.
      const ownerAtStart = net.ownerOf(hex);
      const handle = { from };
      open.add(handle);
      from.overlay.node.lookup(key, (r: RingLookupResult) => {
        open.delete(handle);
        // One whose asker went meanwhile is not counted.
        if (!from.alive) return;
        lookups++;
        const found = r.owner === null ? null : net.space.toHex(r.owner);
        if (found !== null && (found === ownerAtStart || found === net.ownerOf(hex))) correct++;
        else if (process.env.SIM_DEBUG) {
          const f = found === null ? null : net.nodes.get(found);
          const o = net.nodes.get(net.ownerOf(hex) ?? '');
          net.why(
            `wrong:${from.overlay.leaf ? 'L' : 'M'}:${r.error?.message.slice(0, 30)}:${found === null ? 'none' : !f ? 'gone' : !f.overlay.joined ? 'unjoined' : 'live'}:owner-age-${o ? Math.min(9, Math.floor((net.now - o.countedSince) / 10_000)) : 'x'}:hops-${r.hops}`,
          );
        }
        hops.push(r.hops);
        // A routed lookup costs two messages per hop (there and back).
        lookupMessages += 2 * r.hops;
        newLinks.push(from.lookupLinksOpened - linksBefore);
      });
    }
    // A record check: a random member looks for a provider that has been up for a minute.
    const settled = [...providers].filter(([id, p]) => net.nodes.get(id)?.alive && net.now - p.since > 60_000);
    if (settled.length > 0 && live.length > 0) {
      const [providerId, p] = settled[net.rng.int(settled.length)]!;
      const asker = live[net.rng.int(live.length)]!;
      asker.overlay.dht.get(p.key, (result) => {
        if (!net.nodes.get(providerId)?.alive) return;
        checks++;
        if (result.values.includes(providerId)) found++;
        else if (process.env.SIM_DEBUG) {
          const owner = net.nodes.get(net.ownerOf(net.space.toHex(p.key)) ?? '');
          const held = owner?.overlay.dht.localValues(p.key).includes(providerId);
          net.why(
            `record-miss:${asker.overlay.leaf ? 'leaf' : 'member'}-asks:${net.nodes.get(providerId)?.overlay.leaf ? 'leaf' : 'member'}-provides:owner-${held ? 'has' : 'lacks'}:${result.error?.message.slice(0, 24) ?? result.values.length}`,
          );
        }
      });
    }
  };
  net.queue.schedule(0, tick);
  await net.runUntil(end);
  // Lookups still under way finish (no new ones start); one a live asker never heard the
  // end of counts as wrong.
  await net.runUntil(end + 10_000);
  for (const { from } of open) if (from.alive) lookups++;

  if (process.env.SIM_DEBUG)
    process.stderr.write(`${JSON.stringify(Object.fromEntries(net.reasons))} conns ${net.connsCreated}\n`);
  const totals = net.totals();
  const nodeMin = totals.nodeMs / 60_000;
  let all = 0;
  const byType: Record<string, number> = {};
  for (const [type, n] of totals.messages) {
    all += n;
    byType[type] = round(n / nodeMin, 1);
  }
  // The record checks' own messages (a lookup and a get each) are left out of maintenance too.
  const dhtGets = totals.messages.get('dht-get') ?? 0;
  const row: OverlayRow = {
    nodes: o.nodes,
    lookup_success: round(lookups === 0 ? 0 : correct / lookups, 4),
    lookups,
    mean_hops: round(hops.reduce((a, b) => a + b, 0) / Math.max(1, hops.length)),
    median_new_links_per_lookup: pct(newLinks, 50),
    p99_new_links_per_lookup: pct(newLinks, 99),
    max_links: net.maxLinksSeen,
    conns_per_tab_hour: round(totals.tabConns / (totals.tabMs / 3_600_000), 1),
    msgs_per_node_min: round(all / nodeMin, 1),
    maint_msgs_per_node_min: round((all - lookupMessages - 4 * dhtGets) / nodeMin, 1),
    signal_msgs_per_node_min: round(net.signalMessages / nodeMin, 1),
    record_survival: round(checks === 0 ? 0 : found / checks, 4),
    record_checks: checks,
    members: net.memberCount,
    msgs_by_type: byType,
  };
  net.destroy();
  return row;
}
