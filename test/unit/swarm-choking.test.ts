import { randomBytes } from 'node:crypto';
import {
  BLOCK_LENGTH,
  CHOKE_INTERVAL_MS,
  type ChokeCandidate,
  chooseUnchoked,
  OPTIMISTIC_ROUNDS,
  RateLimiter,
  Swarm,
  UPLOAD_SLOTS,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { newPeerId, type ScriptedPeer, scripted } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';

// Frames between the swarm and its scripted peers move on the test's FakeClock (see `flush`).
const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

const peer = (id: string, interested: boolean, downloadRate: number, uploadRate: number): ChokeCandidate => ({
  id,
  interested,
  downloadRate,
  uploadRate,
});

/**
 * A seeder of `blocks` blocks of random data with an upload limit of `upload` bytes per second, and
 * one scripted peer that has handshaken and said it is interested.
 */
async function limitedSeeder(blocks: number, upload: number) {
  const seed = await seedable('data.bin', new Uint8Array(randomBytes(blocks * BLOCK_LENGTH)));
  const clock = new FakeClock();
  const seeder = new Swarm(
    { peerId: newPeerId(), store: seed.store, clock },
    { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
  );
  swarms.push(seeder);
  seeder.setRateLimits({ upload });
  const p = scripted(seeder, newPeerId(), clock);
  p.handshake(seed.infoHash);
  p.send({ type: 'interested' });
  await flush(clock);
  return { seeder, clock, p };
}

describe('chooseUnchoked', () => {
  const peers = [
    peer('a', true, 100, 1),
    peer('b', true, 400, 2),
    peer('c', true, 300, 3),
    peer('d', false, 900, 9),
    peer('e', true, 200, 4),
    peer('f', true, 0, 5),
  ];
  const noOptimistic = () => null;

  it('while downloading, unchokes the interested peers that give us the most', () => {
    const { unchoked } = chooseUnchoked(peers, false, 3, null, noOptimistic);
    expect([...unchoked].sort()).toEqual(['b', 'c', 'e']);
  });

  it('while seeding, unchokes the interested peers that take the most', () => {
    const { unchoked } = chooseUnchoked(peers, true, 3, null, noOptimistic);
    expect([...unchoked].sort()).toEqual(['c', 'e', 'f']);
  });

  it('adds one optimistic peer from outside the set, and keeps it while it is eligible', () => {
    const offered: string[][] = [];
    const first = chooseUnchoked(peers, false, 3, null, (eligible) => {
      offered.push(eligible);
      return eligible[0] ?? null;
    });
    expect(offered).toEqual([['a', 'f']]);
    expect(first.optimistic).toBe('a');
    expect([...first.unchoked].sort()).toEqual(['a', 'b', 'c', 'e']);
    const again = chooseUnchoked(peers, false, 3, 'a', () => 'f');
    expect(again.optimistic).toBe('a');
    // An optimistic peer that lost interest is replaced.
    const lost = chooseUnchoked([...peers.slice(1), peer('a', false, 100, 1)], false, 3, 'a', () => 'f');
    expect(lost.optimistic).toBe('f');
  });
});

describe('Swarm choking', () => {
  async function seederWithPeers(count: number) {
    const data = new Uint8Array(randomBytes(8 * BLOCK_LENGTH));
    const seed = await seedable('data.bin', data);
    const clock = new FakeClock();
    let r = 0;
    const seeder = new Swarm(
      { peerId: newPeerId(), store: seed.store, clock, random: () => (r++ % 7) / 7 },
      { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
    );
    swarms.push(seeder);
    const peers: ScriptedPeer[] = [];
    for (let i = 0; i < count; i++) {
      const p = scripted(seeder, newPeerId(), clock);
      p.handshake(seed.infoHash);
      p.send({ type: 'interested' });
      peers.push(p);
    }
    return { seeder, peers, clock, data };
  }

  const unchokedNow = (peers: ScriptedPeer[]) =>
    peers.filter((p) => {
      const states = p.inbox.filter((m) => m.type === 'choke' || m.type === 'unchoke');
      return states.at(-1)?.type === 'unchoke';
    });

  it('uploads to at most the regular slots plus one optimistic peer, and rotates the optimistic one', async () => {
    const { peers, clock } = await seederWithPeers(UPLOAD_SLOTS + 3);
    await flush(clock);
    expect(unchokedNow(peers)).toHaveLength(UPLOAD_SLOTS + 1);

    const before = new Set(unchokedNow(peers).map((p) => p.id));
    const seen = new Set(before);
    for (let round = 0; round < OPTIMISTIC_ROUNDS * 4; round++) {
      clock.advance(CHOKE_INTERVAL_MS);
      await flush(clock);
      expect(unchokedNow(peers)).toHaveLength(UPLOAD_SLOTS + 1);
      for (const p of unchokedNow(peers)) seen.add(p.id);
    }
    // Over several optimistic rotations, more peers than one set's worth got a turn.
    expect(seen.size).toBeGreaterThan(before.size);
  });

  it('ignores requests from a peer it chokes', async () => {
    const { peers, clock } = await seederWithPeers(UPLOAD_SLOTS + 3);
    await flush(clock);
    expect(unchokedNow(peers)).toHaveLength(UPLOAD_SLOTS + 1);
    const choked = peers.find((p) => !unchokedNow(peers).includes(p))!;
    choked.send({ type: 'request', index: 0, begin: 0, length: BLOCK_LENGTH });
    const open = unchokedNow(peers)[0]!;
    open.send({ type: 'request', index: 0, begin: 0, length: BLOCK_LENGTH });
    await flush(clock);
    expect(open.received('piece')).toHaveLength(1);
    expect(choked.received('piece')).toEqual([]);
  });
});

describe('rate limits', () => {
  it('RateLimiter spaces sends to the rate and can change it at run time', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now, 1000);
    expect(limiter.reserve(500)).toBe(500); // debt of 500 bytes at 1000 B/s
    expect(limiter.delay()).toBe(500);
    now += 500;
    expect(limiter.delay()).toBe(0);
    limiter.setRate(null);
    expect(limiter.reserve(1e9)).toBe(0);
    expect(() => limiter.setRate(0)).toThrow(RangeError);
  });

  it('a seeder with an upload limit sends no faster than it, and speeds up when it is lifted', async () => {
    const rate = 4 * BLOCK_LENGTH; // bytes per second
    const { seeder, clock, p } = await limitedSeeder(16, rate);
    expect(p.received('unchoke')).toHaveLength(1);
    for (let i = 0; i < 16; i++) {
      p.send({ type: 'request', index: i, begin: 0, length: BLOCK_LENGTH });
    }
    await flush(clock);
    const sentAt = (ms: number) => {
      const bytes = p.received('piece').length * BLOCK_LENGTH;
      // Within one block of the rate, never above it by more than that block.
      expect(bytes).toBeLessThanOrEqual((rate * ms) / 1000 + BLOCK_LENGTH);
      expect(bytes).toBeGreaterThanOrEqual((rate * ms) / 1000 - BLOCK_LENGTH);
    };
    sentAt(0);
    for (let t = 250; t <= 2000; t += 250) {
      clock.advance(250);
      await flush(clock);
      sentAt(t);
    }
    seeder.setRateLimits({ upload: null });
    await flush(clock);
    expect(p.received('piece')).toHaveLength(16);
    expect(seeder.rateLimits).toEqual({ upload: null, download: null });
  });
});

describe('Swarm.destroy and its timers', () => {
  it('leaves no timer behind: neither the choke round nor a rate-limited upload', async () => {
    const { seeder, clock, p } = await limitedSeeder(8, BLOCK_LENGTH);
    for (let i = 0; i < 4; i++) p.send({ type: 'request', index: i, begin: 0, length: BLOCK_LENGTH });
    await flush(clock);
    expect(p.received('piece')).toHaveLength(1);
    // The next choke round and the upload that waits for the limit.
    expect(clock.pending).toBe(2);

    seeder.destroy();
    await flush(clock); // the link's hang-up reaches the other end
    expect(clock.pending).toBe(0);
    expect(p.link.closed).toBe(true);
  });
});
