import { Bitfield, PiecePicker, RANDOM_FIRST_PIECES, RateMeter } from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** A seeded generator (mulberry32), so orders are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bits = (length: number, indexes: number[]) => {
  const b = new Bitfield(length);
  for (const i of indexes) b.set(i);
  return b;
};
const all = (n: number) => Bitfield.full(n);
const none = () => false;
const any = () => true;

describe('PiecePicker', () => {
  it('picks from the priority ranges first, lowest index first, then rarest first again', () => {
    const picker = new PiecePicker(20, { random: seeded(3) });
    picker.addBitfield(all(20));
    picker.addBitfield(bits(20, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]));
    const held = RANDOM_FIRST_PIECES;
    // Rarest first: piece 19 is the rarest.
    expect(picker.pick(all(20), any, held)).toBe(19);
    // A player at piece 12 needs 12..15 next; a second range (another reader) comes after it.
    picker.setPriority([
      { from: 12, to: 16 },
      { from: 3, to: 5 },
    ]);
    expect(picker.pick(all(20), any, held)).toBe(12);
    expect(picker.pick(all(20), (i) => i > 13, held)).toBe(14);
    // Nothing the peer has in the first range: the next range.
    expect(picker.pick(bits(20, [4, 19]), any, held)).toBe(4);
    // Both ranges done (held or in progress): rarest first again.
    expect(picker.pick(all(20), (i) => i < 3 || i > 15, held)).toBe(19);
    // Out-of-bounds ranges are clipped, never returned.
    picker.setPriority([{ from: 18, to: 40 }]);
    expect(picker.pick(bits(20, [0]), any, held)).toBe(0);
    picker.setPriority([]);
    expect(picker.pick(all(20), any, held)).toBe(19);
  });

  it('picks the rarest piece once past the random first pieces', () => {
    const picker = new PiecePicker(6, { random: seeded(1) });
    // Availability: piece 4 is held by one peer, 2 by two, everything else by three.
    picker.addBitfield(all(6));
    picker.addBitfield(bits(6, [0, 1, 2, 3, 5]));
    picker.addBitfield(bits(6, [0, 1, 3, 5]));
    expect(Array.from(picker.availability)).toEqual([3, 3, 2, 3, 1, 3]);
    const held = RANDOM_FIRST_PIECES;
    expect(picker.pick(all(6), any, held)).toBe(4);
    expect(picker.pick(all(6), (i) => i !== 4, held)).toBe(2);
    // Only pieces the remote has and we want count.
    expect(picker.pick(bits(6, [0, 5]), any, held)).not.toBe(4);
    expect(picker.pick(all(6), none, held)).toBe(-1);
  });

  it('breaks ties going forward from a starting piece drawn from its seed', () => {
    const order = (seed: number) => {
      const picker = new PiecePicker(64, { random: seeded(seed) });
      const taken = new Set<number>();
      const out: number[] = [];
      for (let k = 0; k < 64; k++) {
        const i = picker.pick(all(64), (x) => !taken.has(x), RANDOM_FIRST_PIECES);
        taken.add(i);
        out.push(i);
      }
      return out;
    };
    expect(order(7)).toEqual(order(7));
    expect([...order(7)].sort((a, b) => a - b)).toEqual(Array.from({ length: 64 }, (_, i) => i));
    // Each order runs forward from its start and wraps around: runs of consecutive pieces.
    for (const seed of [1, 2, 3, 7]) {
      const o = order(seed);
      for (let i = 1; i < o.length; i++) expect(o[i]).toBe((o[i - 1]! + 1) % 64);
    }
    // Different peers start at different places, so they fan out over the file.
    const starts = new Set(Array.from({ length: 20 }, (_, seed) => order(seed)[0]));
    expect(starts.size).toBeGreaterThan(10);
  });

  it('ignores rarity for the first pieces, so they come from the random order', () => {
    const picker = new PiecePicker(8, { random: seeded(3) });
    picker.addBitfield(bits(8, [0, 1, 2, 3, 4, 5, 6]));
    picker.addHave(7); // piece 7 is now as common as the others
    picker.addBitfield(bits(8, [0, 1, 2, 3, 4, 5, 6]));
    // Rarest is 7 (availability 1); in the random phase any piece may come first.
    const firstPicks = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const p = new PiecePicker(8, { random: seeded(seed) });
      p.addBitfield(bits(8, [0, 1, 2, 3, 4, 5, 6]));
      p.addBitfield(all(8));
      firstPicks.add(p.pick(all(8), any, 0));
      expect(p.pick(all(8), any, RANDOM_FIRST_PIECES)).toBe(7);
    }
    expect(firstPicks.size).toBeGreaterThan(3);
    expect(picker.pick(all(8), any, RANDOM_FIRST_PIECES)).toBe(7);
  });

  it('sequential mode picks the lowest wanted index the remote has', () => {
    const picker = new PiecePicker(10, { random: seeded(5), sequential: true });
    picker.addBitfield(bits(10, [9]));
    expect(picker.pick(all(10), any, 0)).toBe(0);
    expect(picker.pick(bits(10, [3, 9]), any, 0)).toBe(3);
    expect(picker.pick(all(10), (i) => i > 6, 0)).toBe(7);
  });

  it("a run that reaches pieces another peer has jumps into the longest stretch left, not onto that peer's front", () => {
    // Peer B took 0..9 and is fetching 10..11 (nobody has them yet); our run from 30 ran on to 39 and wraps
    // to 0, which we have now (from B). Going on past B's pieces would land on 10 or 11, B's front.
    const picker = new PiecePicker(40, { random: seeded(4) });
    picker.addBitfield(all(40));
    const held = new Set(Array.from({ length: 10 }, (_, i) => i));
    for (let i = 30; i < 40; i++) held.add(i);
    const wanted = (i: number) => !held.has(i);
    // While the next piece is free, the run goes on from the last one.
    expect(picker.pick(all(40), wanted, 20, 14)).toBe(15);
    // From 39 (the end) or 29 (30 is held): into the middle half of 10..29, away from its ends.
    for (let seed = 0; seed < 50; seed++) {
      const p = new PiecePicker(40, { random: seeded(seed) });
      p.addBitfield(all(40));
      for (const after of [39, 29]) {
        const i = p.pick(all(40), wanted, 20, after);
        expect(i).toBeGreaterThanOrEqual(15);
        expect(i).toBeLessThan(25);
      }
    }
    // Only the rarest pieces make a stretch: 20..29 are rarer than 10..19 here.
    for (let i = 10; i < 20; i++) picker.addHave(i);
    const i = picker.pick(all(40), wanted, 20, 39);
    expect(i).toBeGreaterThanOrEqual(22);
    expect(i).toBeLessThan(28);
  });

  it('has a few leechers ask a capped seeder for each piece about once', () => {
    // One seeder sends one block per tick, taking its leechers in turn (as its upload pump does), each
    // leecher's requests in the order they came. Each leecher keeps two pieces asked of it and takes at
    // once what another leecher holds (their links are fast); what it asked for and got so is
    // cancelled, but blocks already sent were sent for nothing.
    const seederCopies = (leechers: number, seed: number) => {
      const n = 128;
      const blocks = 16;
      const random = seeded(seed);
      const peers = Array.from({ length: leechers }, () => ({
        picker: new PiecePicker(n, { random }),
        held: new Set<number>(),
        queue: [] as { index: number; sent: number }[],
        last: -1,
      }));
      for (const p of peers) p.picker.addBitfield(all(n));
      let sent = 0;
      let turn = 0;
      while (peers.some((p) => p.held.size < n)) {
        for (const p of peers) {
          p.queue = p.queue.filter((r) => !p.held.has(r.index));
          while (p.queue.length < 2) {
            const asked = (i: number) => p.queue.some((r) => r.index === i);
            const index = p.picker.pick(all(n), (i) => !p.held.has(i) && !asked(i), p.held.size, p.last);
            if (index < 0) break;
            p.last = index;
            p.queue.push({ index, sent: 0 });
          }
        }
        const next = peers.map((_, k) => peers[(turn + k) % leechers]!).find((p) => p.queue.length > 0);
        if (!next) throw new Error('nothing asked while pieces are missing');
        turn = (peers.indexOf(next) + 1) % leechers;
        const head = next.queue[0]!;
        sent++;
        if (++head.sent === blocks) for (const p of peers) p.held.add(head.index);
      }
      return sent / (n * blocks);
    };
    // Going on to the next piece instead, runs pile up: 1.2-1.8 copies with two leechers, 1.5-2.3 with
    // four. Deeper crowds also need the seeder's refusals (swarm-crowd.test.ts): two runs that meet in
    // one small stretch go on in step for good, each fetching what the other fetches.
    for (const leechers of [2, 4]) {
      for (const seed of [1, 2, 3]) expect(seederCopies(leechers, seed)).toBeLessThanOrEqual(1.1);
    }
  });

  it('keeps availability exact through any sequence of joins, haves and leaves', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), { maxLength: 8 }),
        fc.array(fc.nat({ max: 11 }), { maxLength: 20 }),
        (peers, haves) => {
          const picker = new PiecePicker(12, { random: seeded(9) });
          const fields = peers.map((p) =>
            bits(
              12,
              p.flatMap((v, i) => (v ? [i] : [])),
            ),
          );
          for (const f of fields) picker.addBitfield(f);
          for (const h of haves) picker.addHave(h);
          for (const f of fields.slice(0, Math.floor(fields.length / 2))) picker.addBitfield(f, -1);
          const expected = Array.from({ length: 12 }, (_, i) => {
            const kept = fields.slice(Math.floor(fields.length / 2)).filter((f) => f.has(i)).length;
            return kept + haves.filter((h) => h === i).length;
          });
          expect(Array.from(picker.availability)).toEqual(expected);
        },
      ),
    );
  });
});

describe('RateMeter', () => {
  it('averages bytes over its window of seconds and forgets older ones', () => {
    let now = 10_000;
    const meter = new RateMeter(() => now, 5);
    meter.add(5_000);
    now += 1_000;
    meter.add(5_000);
    now += 999; // just before the next second starts: 5 buckets, 4.999 s
    expect(meter.rate()).toBeCloseTo(10_000 / 4.999, 3);
    expect(meter.total).toBe(10_000);
    now += 10_000; // everything has left the window
    expect(meter.rate()).toBe(0);
    expect(meter.total).toBe(10_000);
  });
});
