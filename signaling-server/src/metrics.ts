/**
 * Prometheus metrics (prom-client), read at scrape time from the registry and the traffic
 * counter, so the hot path only bumps plain counters. One prom-client Registry per server,
 * so several servers in one process do not collide.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { OperatorCounter } from './operator.js';
import type { RingMembers } from './ring-members.js';
import type { StunCounter } from './stun/responder.js';
import type { InstanceInfo, SwarmRegistry } from './swarm-registry.js';
import type { TrafficCounter } from './traffic.js';

export interface MetricsSources {
  registry: SwarmRegistry;
  ring: RingMembers;
  traffic: TrafficCounter;
  /** The built-in STUN server's counts (empty while it is off). */
  stun: StunCounter;
  /** Connections to this instance. */
  connections: () => number;
  /** Every live instance of the cluster (just this one without Redis). */
  instances: () => Promise<InstanceInfo[]>;
  /** Refused announces and reports. */
  operator: OperatorCounter;
  /** Shares on the deny list now. */
  blockedShares: () => number;
  /** How many times each /api/stats view (public, admin) was built; default none. */
  statsBuilds?: () => Record<string, number>;
}

export function createMetrics(src: MetricsSources): Registry {
  const registers = [new Registry()];
  const gauge = (name: string, help: string, read: () => number | Promise<number>) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        this.set(await read());
      },
    });
  // Swarm figures come from the registry: cluster-wide when it is shared.
  gauge('ringswarm_connections', 'Open socket.io connections to this instance', src.connections);
  gauge('ringswarm_swarms', 'Swarms with at least one peer', async () => (await src.registry.totals()).swarms);
  gauge('ringswarm_peers', 'Peers in at least one swarm', async () => (await src.registry.totals()).peers);
  gauge(
    'ringswarm_seeders',
    'Swarm memberships with the whole file',
    async () => (await src.registry.totals()).seeders,
  );
  gauge(
    'ringswarm_leechers',
    'Swarm memberships still downloading',
    async () => (await src.registry.totals()).leechers,
  );
  gauge('ringswarm_ring_members', 'Live ring members connected to this instance', () => src.ring.size);
  gauge('ringswarm_cluster_instances', 'Live tracker instances sharing the registry', async () => {
    return (await src.instances()).length;
  });
  gauge('ringswarm_cluster_connections', 'Open connections to all live instances', async () => {
    return (await src.instances()).reduce((n, i) => n + i.connections, 0);
  });

  gauge('ringswarm_blocked_shares', 'Shares on the deny list in force', src.blockedShares);

  const counter = (name: string, help: string, label: string, read: () => Record<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [value, n] of Object.entries(read())) this.inc({ [label]: value }, n);
      },
    });
  counter('ringswarm_events_total', 'Inbound events by type', 'event', () => src.traffic.events);
  counter('ringswarm_errors_total', 'Error answers and refusals by code', 'code', () => src.traffic.errors);
  counter(
    'ringswarm_relayed_bytes_total',
    'Payload bytes relayed to peers by event type',
    'event',
    () => src.traffic.relayed,
  );
  counter('ringswarm_transport_bytes_total', 'Socket bytes by direction', 'direction', () => ({
    in: src.traffic.transportIn,
    out: src.traffic.transportOut,
  }));
  counter(
    'ringswarm_stun_requests_total',
    'STUN Binding requests answered, by address family',
    'family',
    () => src.stun.requests,
  );
  counter(
    'ringswarm_stun_malformed_total',
    'UDP datagrams on the STUN port dropped as not a Binding request, by reason',
    'reason',
    () => src.stun.malformed,
  );
  // Counts only: no metric carries a swarm's key, or any part of one, as a label.
  const total = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  total('ringswarm_blocked_announces_total', 'Announces refused for a share on the deny list', () => {
    return src.operator.blockedAnnounces;
  });
  total('ringswarm_reports_total', 'Reports of a share accepted by POST /api/report', () => src.operator.reports);
  counter(
    'ringswarm_reports_refused_total',
    'Reports refused, by reason (rate: rate limit, invalid: bad method, size or body)',
    'reason',
    () => src.operator.reportsRefused,
  );
  const statsBuilds = src.statsBuilds;
  if (statsBuilds) {
    counter('ringswarm_stats_builds_total', 'Answers of /api/stats built (each is served for a second)', 'view', () =>
      statsBuilds(),
    );
  }
  return registers[0]!;
}
