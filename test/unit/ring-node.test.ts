import type { RingLookupHop, RingLookupResult } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { Harness, rid } from '../helpers/ring-harness.js';
import { SimNetwork } from '../sim/network.js';
import { checkInvariants } from '../sim/oracle.js';

/** A ring of the given ids, built by real joins one at a time, then left to stabilize. */
function buildRing(ids: bigint[], r = 2, seed = 1): SimNetwork {
  const net = new SimNetwork({ seed, bits: 8, node: { successors: r } });
  const [first, ...rest] = ids;
  net.addHost(first!).node.create();
  for (const id of rest) {
    let result: unknown = 'pending';
    net.addHost(id).node.join(first!, (e) => {
      result = e;
    });
    net.queue.runUntil(net.now + 5_000);
    expect(result).toBeNull();
  }
  net.queue.runUntil(net.now + 10 * 60_000);
  return net;
}

const views = (net: SimNetwork) => net.liveHosts().map((h) => ({ id: h.id, ...h.node.snapshot() }));

function lookup(net: SimNetwork, from: bigint, key: bigint) {
  let out: { owner: bigint | null; hops: number; timeouts: number } | undefined;
  net.hosts.get(from)!.node.lookup(key, (r) => {
    out = r;
  });
  net.queue.runUntil(net.now + 30_000);
  return out!;
}

describe('RingNode by hand (m = 8, r = 2)', () => {
  it('joins {10, 50, 100, 200} into one ordered ring', () => {
    const net = buildRing([10n, 100n, 50n, 200n]);
    const byId = (id: bigint) => net.hosts.get(id)!.node;
    expect(byId(10n).successors).toEqual([50n, 100n]);
    expect(byId(10n).predecessor).toBe(200n);
    expect(byId(50n).successors).toEqual([100n, 200n]);
    expect(byId(100n).successors).toEqual([200n, 10n]);
    expect(byId(200n).successors).toEqual([10n, 50n]);
    expect(byId(200n).predecessor).toBe(100n);
    expect(checkInvariants(net.space, views(net), 2).ok).toBe(true);
  });

  it('fixes the one finger beyond the successor list: 10 + 2^7 = 138 -> 200', () => {
    const net = buildRing([10n, 100n, 50n, 200n]);
    // Starts 11..74 (fingers 0..6) fall within (10, 100], covered by the list [50, 100].
    // The lookup's answer also names 200's successor, 10 (us): no backup worth keeping.
    expect(net.hosts.get(10n)!.node.snapshot().fingers).toEqual([{ index: 7, node: 200n, backups: [] }]);
    // 100's list [200, 10] reaches 10 = 100 + 166 > 2^7: no finger needs a lookup.
    expect(net.hosts.get(100n)!.node.snapshot().fingers).toEqual([]);
  });

  it('finds the owner of a key: the first node clockwise at or after it', () => {
    const net = buildRing([10n, 100n, 50n, 200n]);
    expect(lookup(net, 10n, 60n).owner).toBe(100n);
    expect(lookup(net, 10n, 50n).owner).toBe(50n);
    expect(lookup(net, 10n, 201n).owner).toBe(10n);
    expect(lookup(net, 10n, 5n).owner).toBe(10n);
    expect(lookup(net, 50n, 150n).owner).toBe(200n);
    // 60 is in (10, 100] but past the first half of 10's list [50, 100]: 10 does not
    // answer alone (100 might have died unnoticed) and asks 50, whose list starts at 100.
    expect(lookup(net, 10n, 60n).hops).toBe(1);
    // 40 is in (10, 50], the first half of the list: no remote step, only a confirmation.
    expect(lookup(net, 10n, 40n)).toMatchObject({ owner: 50n, hops: 0 });
    // 100 owns 60 itself: 60 is in (predecessor 50, 100].
    expect(lookup(net, 100n, 60n)).toMatchObject({ owner: 100n, hops: 0 });
    // 100 looking up 30 asks 10 (its closest preceding node), whose list names 50.
    expect(lookup(net, 100n, 30n)).toMatchObject({ owner: 50n, hops: 1 });
  });

  it('hands its neighbours to each other on a graceful leave', () => {
    const net = buildRing([10n, 100n, 50n, 200n]);
    net.hosts.get(100n)!.node.leave();
    net.hosts.get(100n)!.alive = false;
    net.queue.runUntil(net.now + 5_000);
    expect(net.hosts.get(50n)!.node.successors[0]).toBe(200n);
    expect(net.hosts.get(200n)!.node.predecessor).toBe(50n);
    net.queue.runUntil(net.now + 3 * 60_000);
    expect(checkInvariants(net.space, views(net), 2).ok).toBe(true);
  });

  it('repairs around a crashed node and routes around it meanwhile', () => {
    const net = buildRing([10n, 100n, 50n, 200n, 150n]);
    net.fail(100n);
    // Before any repair, a lookup for 80 times out on 100 and settles on 150.
    const r = lookup(net, 10n, 80n);
    expect(r.owner).toBe(150n);
    expect(r.timeouts).toBeGreaterThanOrEqual(1);
    net.queue.runUntil(net.now + 3 * 60_000);
    const report = checkInvariants(net.space, views(net), 2);
    expect(report.ok).toBe(true);
    expect(net.hosts.get(50n)!.node.successors).toEqual([150n, 200n]);
  });

  it('a ring of one owns every key and answers lookups locally', () => {
    const h = new Harness(42n);
    h.node.create();
    let owner: bigint | null = null;
    h.node.lookup(7n, (r) => {
      owner = r.owner;
    });
    expect(owner).toBe(42n);
    expect(h.take()).toEqual([]);
  });
});

describe('RingNode lookup observer', () => {
  it('reports the hops of a lookup over several nodes in order, as they happen, ending at the owner', () => {
    // r = 2 and twelve nodes: a lookup from 10 to the far side of the ring takes several hops.
    const ids = [10n, 30n, 50n, 70n, 90n, 110n, 130n, 150n, 170n, 190n, 210n, 230n];
    const net = buildRing(ids);
    const seen: { at: number; hop?: RingLookupHop; end?: RingLookupResult }[] = [];
    let result: RingLookupResult | undefined;
    net.hosts.get(10n)!.node.lookup(
      205n,
      (r) => {
        result = r;
      },
      {
        hop: (hop) => seen.push({ at: net.now, hop }),
        end: (end) => seen.push({ at: net.now, end }),
      },
    );
    net.queue.runUntil(net.now + 30_000);
    expect(result).toMatchObject({ owner: 210n, error: null });
    const hops = seen.flatMap((s) => (s.hop ? [s.hop] : []));
    expect(hops.length).toBeGreaterThanOrEqual(2);
    expect(hops.length).toBe(result!.hops);
    expect(hops.map((h) => h.index)).toEqual(hops.map((_, i) => i + 1));
    // Each node asked is the one the previous answer pointed to; the last names the owner.
    for (let i = 1; i < hops.length; i++) expect(hops[i]!.from).toBe(hops[i - 1]!.to);
    expect(hops.at(-1)).toMatchObject({ to: 210n, done: true });
    expect(hops.slice(0, -1).every((h) => !h.done)).toBe(true);
    // Told as the answers come (one round trip apart on the virtual clock), the end last.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.at).toBeGreaterThan(seen[i - 1]!.at);
    expect(seen.at(-1)?.end).toEqual(result);
    expect(seen.filter((s) => s.end)).toHaveLength(1);
  });

  it('tells the end, with no hop, of a lookup before joining', () => {
    const h = new Harness(42n);
    const ends: RingLookupResult[] = [];
    let hops = 0;
    h.node.lookup(7n, () => {}, { hop: () => hops++, end: (r) => ends.push(r) });
    expect(hops).toBe(0);
    expect(ends).toHaveLength(1);
    expect(ends[0]?.error?.code).toBe('ERR_RING_NOT_JOINED');
  });
});

describe('RingNode pointer rule', () => {
  it('adopts a closer successor named by another node only after it answers', () => {
    const h = new Harness(10n);
    h.node.restore({ predecessor: 200n, successors: [100n, 200n], fingers: [] });
    h.node.runMaintenance('stabilize');
    const [ask] = h.take();
    expect(ask).toMatchObject({ to: 100n, msg: { type: 'get-state' } });
    // 100 says its predecessor is 50, which lies between us and 100.
    h.node.handle(100n, { type: 'state', rid: rid(ask!.msg), predecessor: 50n, successors: [200n] });
    const [check] = h.take();
    expect(check).toMatchObject({ to: 50n, msg: { type: 'get-state' } });
    expect(h.node.successor).toBe(100n);
    // 50 never answers: after the timeout and its retry, 100 is still our successor.
    h.advance(10_000);
    expect(h.node.successors).toEqual([100n, 200n]);

    // Next round, 50 is named again and this time answers.
    h.take();
    h.advance(100_000); // past the memory of 50's silence
    h.node.runMaintenance('stabilize');
    const [ask2] = h.take();
    h.node.handle(100n, { type: 'state', rid: rid(ask2!.msg), predecessor: 50n, successors: [200n] });
    const [check2] = h.take();
    expect(check2!.to).toBe(50n);
    h.node.handle(50n, { type: 'state', rid: rid(check2!.msg), predecessor: 10n, successors: [100n, 200n] });
    expect(h.node.successors).toEqual([50n, 100n]);
  });

  it('ignores answers from the wrong node or with an unknown rid', () => {
    const h = new Harness(10n);
    h.node.restore({ predecessor: 200n, successors: [100n, 200n], fingers: [] });
    h.node.runMaintenance('stabilize');
    const [ask] = h.take();
    h.node.handle(60n, { type: 'state', rid: rid(ask!.msg), predecessor: 50n, successors: [60n] });
    h.node.handle(100n, { type: 'state', rid: 999, predecessor: 50n, successors: [60n] });
    expect(h.take()).toEqual([]);
    expect(h.node.successors).toEqual([100n, 200n]);
  });

  it('replaces its predecessor with a notifier outside (pred, id) only when pred is silent', () => {
    const h = new Harness(100n);
    h.node.restore({ predecessor: 50n, successors: [200n, 10n], fingers: [] });
    // 10 asks for our state (stabilize's notify): 10 is not in (50, 100), so 50 is pinged.
    h.node.handle(10n, { type: 'get-state', rid: 1 });
    const sent = h.take();
    expect(sent.map((s) => [s.to, s.msg.type])).toEqual([
      [50n, 'ping'],
      [10n, 'state'],
    ]);
    h.node.handle(50n, { type: 'pong', rid: rid(sent[0]!.msg), predecessor: 10n });
    expect(h.node.predecessor).toBe(50n);
    // Again, and this time 50 is gone.
    h.node.handle(10n, { type: 'get-state', rid: 2 });
    h.take();
    h.advance(5_000);
    expect(h.node.predecessor).toBe(10n);
    // A notifier inside (pred, id) is taken at once: it just spoke to us.
    h.node.handle(60n, { type: 'get-state', rid: 3 });
    expect(h.node.predecessor).toBe(60n);
  });
});

describe('RingNode join', () => {
  it('routes JOIN to the owner of its id, and follows a JOIN-ACK whose predecessor is closer', () => {
    const h = new Harness(60n);
    let result: unknown = 'pending';
    h.node.join(10n, (e) => {
      result = e;
    });
    // The lookup for 60 goes to the bootstrap member 10, whose list names 100 as owner.
    const [find] = h.take();
    expect(find).toMatchObject({ to: 10n, msg: { type: 'find', key: 60n } });
    h.node.handle(10n, { type: 'found', rid: rid(find!.msg), done: true, nodes: [100n, 200n] });
    // 100 is confirmed with a ping; its answer says its predecessor is 50, so 60 is 100's.
    const [ping] = h.take();
    expect(ping).toMatchObject({ to: 100n, msg: { type: 'ping' } });
    h.node.handle(100n, { type: 'pong', rid: rid(ping!.msg), predecessor: 50n });
    const [join] = h.take();
    expect(join).toMatchObject({ to: 100n, msg: { type: 'join' } });
    // Meanwhile 80 joined in front of 100: 100's JOIN-ACK names 80 as its predecessor.
    h.node.handle(100n, { type: 'join-ack', rid: rid(join!.msg), predecessor: 80n, successors: [200n] });
    expect(h.node.joined).toBe(false);
    const [join2] = h.take();
    expect(join2).toMatchObject({ to: 80n, msg: { type: 'join' } });
    h.node.handle(80n, { type: 'join-ack', rid: rid(join2!.msg), predecessor: 50n, successors: [100n, 200n] });
    expect(result).toBeNull();
    expect(h.node.joined).toBe(true);
    expect(h.node.successors).toEqual([80n, 100n]);
    // The predecessor named in the ACK is adopted only once it answers a ping.
    expect(h.node.predecessor).toBeNull();
    const [check] = h.take();
    expect(check).toMatchObject({ to: 50n, msg: { type: 'ping' } });
    h.node.handle(50n, { type: 'pong', rid: rid(check!.msg), predecessor: 10n });
    expect(h.node.predecessor).toBe(50n);
  });
});

describe('RingNode lifecycle', () => {
  it('destroy() is idempotent, clears every timer, emits close once and nothing after', () => {
    const h = new Harness(10n, { maintenance: true });
    h.node.restore({ predecessor: 200n, successors: [100n, 200n], fingers: [] });
    expect(h.pendingTimers).toBe(4);
    h.node.runMaintenance('stabilize');
    expect(h.pendingTimers).toBe(5);
    const events: string[] = [];
    h.node.on('close', () => events.push('close'));
    h.node.on('successors', () => events.push('successors'));
    h.node.destroy();
    h.node.destroy();
    expect(events).toEqual(['close']);
    expect(h.pendingTimers).toBe(0);
    h.take();
    h.node.handle(100n, { type: 'ping', rid: 1 });
    h.node.handle(100n, { type: 'successors', successors: [1n] });
    h.advance(600_000);
    expect(h.take()).toEqual([]);
    expect(events).toEqual(['close']);
  });

  it('reports a lookup before joining with ERR_RING_NOT_JOINED', () => {
    const h = new Harness(10n);
    let code: string | undefined;
    h.node.lookup(1n, (r) => {
      code = r.error?.code;
    });
    expect(code).toBe('ERR_RING_NOT_JOINED');
  });

  it('fails a join whose bootstrap never answers with ERR_RING_JOIN_FAILED', () => {
    const h = new Harness(10n);
    let code: string | undefined;
    h.node.join(99n, (e) => {
      code = e?.code;
    });
    h.advance(10_000);
    expect(code).toBe('ERR_RING_JOIN_FAILED');
    expect(h.node.joined).toBe(false);
  });
});
