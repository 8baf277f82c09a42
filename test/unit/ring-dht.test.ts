import { DhtStore, type DhtStoreOptions, RingErrorCode, RingNode } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../sim/network.js';

const MIN = 60_000;

/** The ring {10, 50, 100, 200} on m = 8, each node with a DHT store, settled. */
function ring(ids: bigint[], dht: DhtStoreOptions, r = 3, wire: 'none' | 'full' = 'none'): SimNetwork {
  const net = new SimNetwork({ seed: 2, bits: 8, wire, node: { successors: r } });
  const [first, ...rest] = ids;
  const h0 = net.addHost(first!);
  h0.node.create();
  net.attachDht(h0, dht);
  for (const id of rest) {
    const h = net.addHost(id);
    net.attachDht(h, dht);
    h.node.join(first!);
    net.queue.runUntil(net.now + 5_000);
  }
  net.queue.runUntil(net.now + 5 * MIN);
  return net;
}

const dht = (net: SimNetwork, id: bigint) => net.hosts.get(id)!.dht!;

function get(net: SimNetwork, from: bigint, key: bigint): string[] | undefined {
  let out: string[] | undefined;
  dht(net, from).get(key, (r) => {
    out = r.values;
  });
  net.queue.runUntil(net.now + 20_000);
  return out;
}

/** `from` provides `key`: the value stored is `from` itself (its ID as hex). */
function put(net: SimNetwork, from: bigint, key: bigint, ttlMs: number): unknown {
  let out: unknown = 'pending';
  dht(net, from).provide(key, ttlMs, (e) => {
    out = e;
  });
  net.queue.runUntil(net.now + 10_000);
  return out;
}

describe('DhtStore by hand (m = 8)', () => {
  it('stores a value at the key’s owner and its next k successors', () => {
    const net = ring([10n, 50n, 100n, 200n], { replicas: 2 });
    // 60 is owned by 100; with k = 2 the copies go to 100's successors 200 and 10.
    expect(put(net, 10n, 60n, 30 * MIN)).toBeNull();
    expect(dht(net, 100n).localValues(60n)).toEqual(['0a']);
    expect(dht(net, 200n).localValues(60n)).toEqual(['0a']);
    expect(dht(net, 10n).localValues(60n)).toEqual(['0a']);
    expect(dht(net, 50n).localValues(60n)).toEqual([]);
    expect(get(net, 50n, 60n)).toEqual(['0a']);
    expect(get(net, 50n, 61n)).toEqual([]);
  });

  it('keeps several values under one key (providers of one infohash)', () => {
    const net = ring([10n, 50n, 100n, 200n], { replicas: 1 });
    put(net, 10n, 150n, 30 * MIN);
    put(net, 50n, 150n, 30 * MIN);
    put(net, 50n, 150n, 30 * MIN);
    expect(get(net, 100n, 150n)?.sort()).toEqual(['0a', '32']);
  });

  it('survives the owner’s crash through a replica, and repairs the copies', () => {
    const net = ring([10n, 50n, 100n, 200n], { replicas: 2 });
    put(net, 10n, 60n, 30 * MIN);
    net.fail(100n);
    // Before any repair the lookup skips dead 100 and lands on 200, which holds a copy.
    expect(get(net, 50n, 60n)).toEqual(['0a']);
    net.queue.runUntil(net.now + 3 * MIN);
    // 200 owns 60 now and copies it to its successors 10 and 50.
    expect(dht(net, 50n).localValues(60n)).toEqual(['0a']);
  });

  it('hands keys to a node that joins in front of their owner', () => {
    const net = ring([10n, 50n, 100n, 200n], { replicas: 1 });
    put(net, 10n, 60n, 30 * MIN);
    expect(dht(net, 50n).localValues(60n)).toEqual([]);
    const h = net.addHost(80n);
    net.attachDht(h);
    h.node.join(10n);
    net.queue.runUntil(net.now + 5_000);
    // 80 owns (50, 80] now: 100 handed 60 over when 80 became its predecessor.
    expect(h.dht!.localValues(60n)).toEqual(['0a']);
    expect(get(net, 200n, 60n)).toEqual(['0a']);
  });

  it('hands keys over in whole milliseconds of TTL, which the receiver validates, on a clock that tells fractions', () => {
    // Every message encoded, parsed and validated as over a real link; latencies (so times) are fractional.
    const net = ring([10n, 50n, 100n, 200n], { replicas: 1 }, 3, 'full');
    put(net, 10n, 60n, 30 * MIN);
    const h = net.addHost(80n);
    net.attachDht(h);
    h.node.join(10n);
    net.queue.runUntil(net.now + 5_000);
    expect(h.dht!.localValues(60n)).toEqual(['0a']);
  });

  it('hands a node that joins just below it only the keys that node now owns', () => {
    const net = ring([10n, 50n, 100n, 200n], { replicas: 2 });
    // 100 owns (50, 100]: 60, 70 and 90. With k = 2 it also holds copies of 30 (owned by
    // 50) and of 220 (owned by 10).
    for (const key of [30n, 60n, 70n, 90n, 220n]) expect(put(net, 200n, key, 30 * MIN)).toBeNull();
    expect([30n, 60n, 70n, 90n, 220n].filter((k) => dht(net, 100n).localValues(k).length > 0)).toEqual([
      30n,
      60n,
      70n,
      90n,
      220n,
    ]);
    /** Keys 100 sends to the newcomer. */
    const handed = new Set<bigint>();
    net.onDeliver = (from, to, msg) => {
      if (from === 100n && to === 80n && msg.type === 'dht-store') for (const r of msg.records) handed.add(r.key);
    };
    const h = net.addHost(80n);
    net.attachDht(h, { replicas: 2 });
    h.node.join(10n);
    net.queue.runUntil(net.now + 5 * MIN);
    expect(h.node.predecessor).toBe(50n);
    // 80 owns (50, 80]: 60 and 70, nothing else of 100's store (90 stays; the copies of 30 and
    // 220 are for 50's and 10's successors, which 50 and 10 send themselves).
    expect([...handed].sort((a, b) => (a < b ? -1 : 1))).toEqual([60n, 70n]);
    expect(get(net, 200n, 60n)).toEqual(['c8']);
  });

  it('hands nothing to its first predecessor, whose range it cannot know; its copies still answer', () => {
    const net = new SimNetwork({ seed: 3, bits: 8, node: { successors: 3 } });
    const first = net.addHost(100n);
    first.node.create();
    net.attachDht(first);
    // A ring of one owns every key.
    for (const key of [30n, 150n]) expect(put(net, 100n, key, 30 * MIN)).toBeNull();
    const sent: bigint[] = [];
    net.onDeliver = (from, to, msg) => {
      if (from === 100n && to === 50n && msg.type === 'dht-store') for (const r of msg.records) sent.push(r.key);
    };
    const h = net.addHost(50n);
    net.attachDht(h);
    h.node.join(100n);
    net.queue.runUntil(net.now + 5 * MIN);
    expect(first.node.predecessor).toBe(50n);
    // Only copies of 100's own range (50, 100], which holds neither key, could have been sent.
    expect(sent).toEqual([]);
    // 50 owns 30 and 150 now; 100, its successor, answers for them.
    expect(get(net, 50n, 30n)).toEqual(['64']);
    expect(get(net, 50n, 150n)).toEqual(['64']);
  });

  it('hands everything to the successor on a graceful leave', () => {
    const net = ring([10n, 50n, 100n, 200n], { replicas: 1 });
    put(net, 10n, 20n, 30 * MIN);
    // 50 owns 20; its one copy is on 100.
    expect(dht(net, 200n).localValues(20n)).toEqual([]);
    const leaver = net.hosts.get(50n)!;
    leaver.node.leave();
    leaver.alive = false;
    net.queue.runUntil(net.now + 10_000);
    expect(dht(net, 100n).localValues(20n)).toEqual(['0a']);
    // 100 owns (10, 100] now and copies what it owns to its successor 200 at once.
    expect(dht(net, 200n).localValues(20n)).toEqual(['0a']);
    expect(get(net, 10n, 20n)).toEqual(['0a']);
  });

  it('republishes before expiry, and lets a value expire once unpublished', () => {
    const net = ring([10n, 50n, 100n, 200n], { replicas: 1 });
    put(net, 10n, 60n, 4 * MIN);
    net.queue.runUntil(net.now + 20 * MIN);
    expect(get(net, 50n, 60n)).toEqual(['0a']);
    dht(net, 10n).unprovide(60n);
    net.queue.runUntil(net.now + 5 * MIN);
    expect(get(net, 50n, 60n)).toEqual([]);
    expect(dht(net, 100n).localValues(60n)).toEqual([]);
  });

  it('reports use before joining with ERR_RING_NOT_JOINED', () => {
    const net = new SimNetwork({ seed: 1, bits: 8 });
    const h = net.addHost(5n);
    const store = net.attachDht(h);
    let code: string | undefined;
    store.get(1n, (r) => {
      code = r.error?.code;
    });
    expect(code).toBe(RingErrorCode.NOT_JOINED);
    expect(() => store.provide(1n, 0)).toThrow(RangeError);
  });

  it('destroy() is idempotent, detaches, clears its timers and emits close once', () => {
    let timers = 0;
    const fakeClock = {
      now: () => 0,
      setTimeout: () => {
        timers++;
        return timers;
      },
      clearTimeout: () => {
        timers--;
      },
    };
    const node = new RingNode(
      { id: 1n, send: () => {}, clock: fakeClock, random: () => 0.5 },
      { bits: 8, maintenance: false },
    );
    node.create();
    const store = new DhtStore({ node, clock: fakeClock });
    store.provide(2n, MIN);
    expect(timers).toBe(2); // replication and republish
    let closes = 0;
    store.on('close', () => closes++);
    node.destroy(); // the node's close takes the store with it
    store.destroy();
    expect(closes).toBe(1);
    expect(timers).toBe(0);
    expect(store.destroyed).toBe(true);
  });
});
