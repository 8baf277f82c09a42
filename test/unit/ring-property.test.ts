import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimNetwork } from '../sim/network.js';
import { checkInvariants } from '../sim/oracle.js';

const STABILIZE_MS = 30_000;

type Op = { kind: 'join' | 'leave' | 'fail'; pick: number; gapMs: number };

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('join', 'join', 'leave', 'fail'),
  pick: fc.nat(1_000),
  gapMs: fc.integer({ min: 0, max: 2 * STABILIZE_MS }),
});

/**
 * Plays `ops` on a ring of m = 8, then lets maintenance run for `settleRounds`
 * stabilization intervals and returns the invariant report. A node leaves or crashes only
 * when that keeps Chord's precondition: no live node loses every entry of its successor
 * list at once, and no join is under way (a joiner knows only the node it talks to); no
 * ring can recover from that without outside help. Loss applies while the operations
 * play, not while the ring settles.
 */
function play(seed: number, r: number, initial: number, ops: Op[], loss: number, settleRounds: number) {
  const net = new SimNetwork({ seed, bits: 8, loss, node: { successors: r } });
  const first = net.addHost();
  first.node.create();
  const joined = () => net.liveHosts().filter((h) => h.node.joined);
  const join = () => {
    const members = joined();
    const boot = members[net.rng.int(members.length)]!;
    const h = net.addHost();
    h.node.join(boot.id, (e) => {
      if (e) net.fail(h.id);
    });
  };
  for (let i = 1; i < initial; i++) {
    join();
    net.queue.runUntil(net.now + 3_000);
  }
  net.queue.runUntil(net.now + 5 * STABILIZE_MS);
  const alive = (id: bigint) => net.hosts.get(id)?.alive === true;
  const mayRemove = (victim: bigint) =>
    net.liveHosts().every((h) => {
      if (h.id === victim) return true;
      if (!h.node.joined) return false;
      const list = h.node.successors;
      return list.length === 0 || list.some((n) => n !== victim && alive(n));
    });
  for (const op of ops) {
    const members = joined();
    const victim = members[op.pick % members.length]!;
    if (op.kind === 'join' && net.space.size > BigInt(net.hosts.size + 1)) join();
    else if (op.kind !== 'join' && members.length > 2 && mayRemove(victim.id)) {
      if (op.kind === 'leave') {
        victim.node.leave();
        victim.alive = false;
      } else net.fail(victim.id);
    }
    net.queue.runUntil(net.now + op.gapMs);
  }
  // A lost ping can make a live node look dead for a while; judge repair once the network heals.
  net.setLoss(0);
  net.queue.runUntil(net.now + settleRounds * STABILIZE_MS);
  const views = joined().map((h) => ({ id: h.id, ...h.node.snapshot() }));
  return { report: checkInvariants(net.space, views, r), live: views.length };
}

describe('ring maintenance restores the invariants (property)', () => {
  it('after random joins, leaves and crashes, without loss', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(opArb, { maxLength: 25 }),
        (seed, r, initial, ops) => {
          const { report } = play(seed, r, initial, ops, 0, 6);
          expect(report).toMatchObject({ ok: true });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('after random joins, leaves and crashes, with 1% message loss while they happen', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(opArb, { maxLength: 25 }),
        (seed, initial, ops) => {
          const { report } = play(seed, 3, initial, ops, 0.01, 8);
          expect(report).toMatchObject({ ok: true });
        },
      ),
      { numRuns: 100 },
    );
  });
});
