/**
 * Prometheus metrics (prom-client), read at scrape time from the registry and the traffic
 * counter, so the hot path only bumps plain counters. One prom-client Registry per server,
 * so several servers in one process do not collide.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { RingMembers } from './ring-members.js';
import type { SwarmRegistry } from './swarm-registry.js';
import type { TrafficCounter } from './traffic.js';

export interface MetricsSources {
  registry: SwarmRegistry;
  ring: RingMembers;
  traffic: TrafficCounter;
  connections: () => number;
}

export function createMetrics(src: MetricsSources): Registry {
  const registers = [new Registry()];
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  gauge('ringswarm_connections', 'Open socket.io connections', src.connections);
  gauge('ringswarm_swarms', 'Swarms with at least one peer', () => src.registry.swarmCount());
  gauge('ringswarm_peers', 'Peers in at least one swarm', () => src.registry.peerCount());
  gauge('ringswarm_seeders', 'Swarm memberships with the whole file', () => src.registry.seederCount());
  gauge('ringswarm_leechers', 'Swarm memberships still downloading', () => src.registry.leecherCount());
  gauge('ringswarm_ring_members', 'Live ring members known to the tracker', () => src.ring.size);

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
  return registers[0]!;
}
