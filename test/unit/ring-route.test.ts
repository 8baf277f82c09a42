import {
  type RingLookupResult,
  type RingMessage,
  RingNode,
  RingSpace,
  type RouteView,
  routeStep,
} from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../sim/network.js';

const space = new RingSpace(16);

/** A consistent ring: each node's predecessor and successor are the true ones. */
function ringOf(ids: bigint[]) {
  const sorted = [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const at = (i: number) => sorted[(i + sorted.length) % sorted.length]!;
  const pred = new Map(sorted.map((id, i) => [id, at(i - 1)]));
  const succ = new Map(sorted.map((id, i) => [id, at(i + 1)]));
  const owner = (key: bigint) => sorted.find((id) => id >= key) ?? sorted[0]!;
  return { sorted, pred, succ, owner };
}

/** Each node's view in a consistent ring, with the links `linkedOf` gives it. */
function viewsOf(ring: ReturnType<typeof ringOf>, linkedOf: (node: bigint) => bigint[]) {
  return (node: bigint, from: bigint | null, visited: bigint[]): RouteView => ({
    space,
    self: node,
    predecessor: ring.pred.get(node)!,
    successor: ring.succ.get(node)!,
    from,
    linked: linkedOf(node),
    visited,
  });
}

/**
 * Walks a routed request for `key` from `origin` (the asker, which may be outside the ring)
 * through the nodes' views until one answers; returns the nodes visited, the asker first.
 */
function walk(
  view: (node: bigint, from: bigint | null, visited: bigint[]) => RouteView,
  origin: bigint,
  first: bigint | null,
  key: bigint,
  limit: number,
): bigint[] {
  const path = [origin];
  let at = first ?? origin;
  let from: bigint | null = first === null ? null : origin;
  if (first !== null) path.push(first);
  for (let i = 0; i < limit; i++) {
    const step = routeStep(view(at, from, path), key);
    if (step.kind === 'answer') return path;
    path.push(step.to);
    from = at;
    at = step.to;
  }
  throw new Error(`no answer after ${limit} hops: ${path.join(' > ')}`);
}

const ringArb = fc.record({
  ids: fc.uniqueArray(fc.integer({ min: 0, max: 65_535 }), { minLength: 2, maxLength: 60 }),
  /** Which other nodes each node links to, besides its neighbours (its fingers, say). */
  linkSeed: fc.array(fc.boolean(), { minLength: 3600, maxLength: 3600 }),
  origin: fc.nat(),
  key: fc.integer({ min: 0, max: 65_535 }),
});

describe('routeStep (recursive next hop)', () => {
  it('reaches the owner of every key over any links, each hop closer before it, never visiting a node twice', () => {
    fc.assert(
      fc.property(ringArb, ({ ids, linkSeed, origin, key }) => {
        const ring = ringOf(ids.map(BigInt));
        const n = ring.sorted.length;
        const linked = new Map(
          ring.sorted.map((id, i) => [
            id,
            ring.sorted.filter(
              (other, j) => other === ring.pred.get(id) || other === ring.succ.get(id) || linkSeed[i * 60 + j],
            ),
          ]),
        );
        const view = viewsOf(ring, (node) => linked.get(node)!);
        const k = BigInt(key);
        const path = walk(view, ring.sorted[origin % n]!, null, k, n + 1);
        expect(path[path.length - 1]).toBe(ring.owner(k));
        expect(new Set(path).size).toBe(path.length);
        // Each hop before the last lands closer before the key; the last one steps past it, to the owner.
        for (let i = 1; i < path.length - 1; i++) {
          expect(space.distance(path[i]!, k)).toBeLessThan(space.distance(path[i - 1]!, k));
        }
      }),
      { numRuns: 400 },
    );
  });

  it("never hands a newcomer's own lookup back to the newcomer, though its bootstrap member is linked to it", () => {
    fc.assert(
      fc.property(ringArb, ({ ids, origin }) => {
        const ring = ringOf(ids.slice(1).map(BigInt));
        const joiner = BigInt(ids[0]!);
        const boot = ring.sorted[origin % ring.sorted.length]!;
        // Everyone is linked to everyone, and the bootstrap member to the joiner too.
        const view = viewsOf(ring, (node) => (node === boot ? [...ring.sorted, joiner] : ring.sorted));
        const path = walk(view, joiner, boot, joiner, ring.sorted.length + 2);
        expect(path.indexOf(joiner)).toBe(0);
        expect(path[path.length - 1]).toBe(ring.owner(joiner));
      }),
      { numRuns: 200 },
    );
  });

  it('a node whose predecessor the previous hop does not know yet sends the request back to it', () => {
    // 100 knows 300 as its successor; 200 joined in between, and 300 already has it as predecessor.
    const view = (self: bigint, predecessor: bigint, successor: bigint, from: bigint | null): RouteView => ({
      space,
      self,
      predecessor,
      successor,
      from,
      linked: [predecessor, successor],
    });
    expect(routeStep(view(100n, 50n, 300n, null), 150n)).toEqual({ kind: 'forward', to: 300n, back: false });
    expect(routeStep(view(300n, 200n, 400n, 100n), 150n)).toEqual({ kind: 'forward', to: 200n, back: true });
    expect(routeStep(view(200n, 100n, 300n, 300n), 150n)).toEqual({ kind: 'answer' });
    // A node with no predecessor yet, taken for the successor: the best owner anyone on the path knows.
    expect(
      routeStep({ space, self: 300n, predecessor: null, successor: 400n, from: 100n, linked: [400n] }, 150n),
    ).toEqual({ kind: 'answer' });
  });
});

describe('RingNode with routed lookups (simulated links to its table)', () => {
  function build(count: number, seed: number): SimNetwork {
    const net = new SimNetwork({ seed, node: { routing: 'recursive', successors: 4 } });
    const first = net.addHost();
    first.node.create();
    for (let i = 1; i < count; i++) {
      let joined: unknown = 'pending';
      net.addHost().node.join(first.id, (e) => {
        joined = e;
      });
      net.queue.runUntil(net.now + 3_000);
      expect(joined).toBeNull();
    }
    net.queue.runUntil(net.now + 5 * 60_000);
    return net;
  }

  it('joins 48 nodes and answers every lookup with the true owner over routed hops, sending no FIND', () => {
    const net = build(48, 7);
    const ids = [...net.hosts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const owner = (key: bigint) => ids.find((id) => id >= key) ?? ids[0]!;
    net.resetCounters();
    const hops: number[] = [];
    for (let i = 0; i < 200; i++) {
      const from = ids[net.rng.int(ids.length)]!;
      const key = net.rng.bigint(160);
      let result: { owner: bigint | null; hops: number } | undefined;
      net.hosts.get(from)!.node.lookup(key, (r) => {
        result = r;
      });
      net.queue.runUntil(net.now + 10_000);
      expect(result?.owner).toBe(owner(key));
      hops.push(result!.hops);
    }
    // Routed all the way (the iterative fallback would send FIND), in about half log2 N hops.
    expect(net.sentByType.get('find') ?? 0).toBe(0);
    expect(net.sentByType.get('route') ?? 0).toBeGreaterThan(0);
    const mean = hops.reduce((a, b) => a + b, 0) / hops.length;
    expect(mean).toBeLessThanOrEqual(0.5 * Math.log2(48) + 1);
  });
});

describe('RingNode routed lookup, message by message (m = 8)', () => {
  /** Node 10 of a ring it knows as 10 → 50 → …, linked to 50, 100 and 150; its world is an outbox. */
  /** Node 10, linked to 50, 100 and 150; `opening` holds nodes whose connection is not reported open yet. */
  function node(opening: bigint[] = []) {
    const outbox: { to: bigint; msg: RingMessage }[] = [];
    const timers = new Map<number, { at: number; run: () => void }>();
    let now = 0;
    let next = 1;
    const ring = new RingNode(
      {
        id: 10n,
        send: (to, msg) => outbox.push({ to, msg }),
        clock: {
          now: () => now,
          setTimeout: (run, ms) => {
            timers.set(next, { at: now + ms, run });
            return next++;
          },
          clearTimeout: (h) => timers.delete(h as number),
        },
        random: () => 0.5,
        linked: () => [50n, 100n, 150n],
        isLinked: (n) => n === 50n || n === 100n || n === 150n,
        hasLink: (n) => n === 50n || n === 100n || n === 150n || opening.includes(n),
      },
      { bits: 8, successors: 2, maintenance: false, routing: 'recursive', routeTimeoutMs: 1_000 },
    );
    ring.restore({ predecessor: 250n, successors: [50n, 100n], fingers: [{ index: 7, node: 150n, backups: [] }] });
    const advance = (ms: number) => {
      now += ms;
      for (const [h, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(h);
          t.run();
        }
      }
    };
    return { ring, outbox, advance };
  }

  it('hands the lookup to the linked node closest before the key, and takes the answer that comes back along the path', () => {
    const { ring, outbox } = node();
    let result: RingLookupResult | undefined;
    ring.lookup(170n, (r) => {
      result = r;
    });
    expect(outbox).toEqual([{ to: 150n, msg: { type: 'route', rid: expect.any(Number), key: 170n, path: [10n] } }]);
    const { rid } = outbox[0]!.msg as { rid: number };
    ring.handle(150n, { type: 'routed', rid, owners: [180n, 200n], path: [10n, 150n, 180n], predecessor: 150n });
    expect(result).toMatchObject({ owner: 180n, owners: [180n, 200n], hops: 2, error: null });
  });

  it('tries once more through the next-best linked node before asking iteratively', () => {
    const { ring, outbox, advance } = node();
    let result: RingLookupResult | undefined;
    ring.lookup(170n, (r) => {
      result = r;
    });
    outbox.length = 0;
    // The first path is lost: after the wait, a second routed lookup through 100, not a FIND.
    advance(1_000);
    expect(outbox).toEqual([{ to: 100n, msg: { type: 'route', rid: expect.any(Number), key: 170n, path: [10n] } }]);
    const { rid } = outbox[0]!.msg as { rid: number };
    ring.handle(100n, { type: 'routed', rid, owners: [180n], path: [10n, 100n, 150n, 180n], predecessor: 150n });
    expect(result).toMatchObject({ owner: 180n, hops: 3 });
    // Both lost: the iterative lookup takes over.
    const again = node();
    again.ring.lookup(170n, () => {});
    again.advance(1_000);
    again.advance(1_000);
    expect(again.outbox.map((o) => o.msg.type)).toEqual(['route', 'route', 'find']);
  });

  it('passes an answer back only over an open connection: a forged path cannot make it connect elsewhere', () => {
    const { ring, outbox } = node();
    // 150 (linked) hands back an answer whose path names 200, which 10 has no connection to.
    ring.handle(150n, { type: 'routed', rid: 1, owners: [180n], path: [200n, 10n, 150n], predecessor: null });
    expect(outbox).toEqual([]);
    // Through a linked previous hop it goes on.
    ring.handle(150n, { type: 'routed', rid: 1, owners: [180n], path: [100n, 10n, 150n], predecessor: null });
    expect(outbox.map((o) => o.to)).toEqual([100n]);
  });

  it('passes an answer back over a connection whose opening is not reported yet (the request came over it)', () => {
    const { ring, outbox } = node([200n]);
    ring.handle(150n, { type: 'routed', rid: 1, owners: [180n], path: [200n, 10n, 150n], predecessor: null });
    expect(outbox.map((o) => o.to)).toEqual([200n]);
  });

  it('ignores an answer that does not come from the first hop, or whose owner is not the node that answered', () => {
    const { ring, outbox } = node();
    let result: RingLookupResult | undefined;
    ring.lookup(170n, (r) => {
      result = r;
    });
    const { rid } = outbox[0]!.msg as { rid: number };
    ring.handle(100n, { type: 'routed', rid, owners: [180n], path: [10n, 100n, 180n], predecessor: null });
    expect(result).toBeUndefined();
    ring.handle(150n, { type: 'routed', rid, owners: [200n], path: [10n, 150n, 180n], predecessor: null });
    // Named an owner other than the answerer: taken for no answer, so the second path is tried.
    expect(result).toBeUndefined();
    expect(outbox.at(-1)).toEqual({
      to: 100n,
      msg: { type: 'route', rid: expect.any(Number), key: 170n, path: [10n] },
    });
  });
});
