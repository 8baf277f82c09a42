/**
 * The expiry sweep walks memberships a slice at a time: one tick of the in-memory registry
 * drops at most the slice, oldest first, and enough ticks drop everything expired and nothing
 * else; the tracker's sweep timer asks for one slice per tick. (The Redis registry:
 * ./expiry-sweep-redis.test.ts.)
 */
import {
  attachTracker,
  DEFAULTS,
  EXPIRY_SLICE,
  MAX_SWEEP_INTERVAL_MS,
  MemorySwarmRegistry,
  RingMembers,
  type SwarmRegistry,
  type TrackerServer,
  TrafficCounter,
} from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';

const id = (n: number) => n.toString(16).padStart(40, '0');
const key = (n: number) => n.toString(16).padStart(64, '0');
const T0 = 1_000_000;

describe('MemorySwarmRegistry.expire in slices', () => {
  it('drops at most the slice per tick, oldest first, and everything expired after enough ticks', async () => {
    const r = new MemorySwarmRegistry();
    // 2,000 memberships at T0 (100 peers in 20 swarms), then 50 fresh ones.
    for (let p = 0; p < 100; p++) for (let s = 0; s < 20; s++) await r.upsert(key(s), id(p), { left: 0 }, false, T0);
    for (let p = 100; p < 150; p++) await r.upsert(key(0), id(p), { left: 5 }, false, T0 + 10_000);
    // One of the old ones announced again: it is fresh now.
    await r.upsert(key(3), id(7), { left: 0 }, false, T0 + 10_000);
    expect(r.memberships).toBe(2_050);
    const slice = 150;
    const cut = T0 + 5_000;
    expect(await r.expire(cut, slice)).toBe(slice);
    expect(r.memberships).toBe(2_050 - slice);
    let ticks = 1;
    while ((await r.expire(cut, slice)) > 0) ticks++;
    // 1,999 expired memberships: ceil(1999 / 150) = 14 ticks, the last one partial.
    expect(ticks).toBe(14);
    expect(r.memberships).toBe(51);
    expect(await r.totals()).toEqual({ swarms: 2, peers: 51, seeders: 1, leechers: 50 });
    expect((await r.counts(key(3))).complete).toBe(1);
    // Nothing is left to drop; without a limit it drops all that is old.
    expect(await r.expire(cut, slice)).toBe(0);
    expect(await r.expire(T0 + 10_001)).toBe(51);
  });

  it('a tick that finds nothing old stops at the first fresh membership', async () => {
    const r = new MemorySwarmRegistry();
    for (let p = 0; p < 500; p++) await r.upsert(key(1), id(p), { left: 0 }, false, T0 + p);
    expect(await r.expire(T0 + 10, 1_000)).toBe(10);
    expect(r.memberships).toBe(490);
    // Removed and released members leave the age order too.
    await r.remove(key(1), id(10));
    await r.release(id(11));
    expect(await r.expire(T0 + 13, 1)).toBe(1);
    expect(await r.expire(T0 + 13, 1)).toBe(0);
    expect(r.memberships).toBe(487);
  });
});

describe("the tracker's expiry sweep", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the registry for one slice per tick', async () => {
    vi.useFakeTimers();
    const calls: [number, number | undefined][] = [];
    const registry = new MemorySwarmRegistry();
    const spy: SwarmRegistry = Object.assign(Object.create(registry) as MemorySwarmRegistry, {
      expire: async (before: number, limit?: number) => {
        calls.push([before, limit]);
        return 0;
      },
      publishInstance: async () => {},
    });
    const noop = () => {};
    // The sweep needs none of socket.io: a stand-in that takes the tracker's hooks and ignores them.
    const io = { use: noop, on: noop, engine: { on: noop }, to: () => ({ emit: noop }) } as unknown as TrackerServer;
    const tracker = attachTracker({
      io,
      registry: spy,
      ring: new RingMembers(),
      traffic: new TrafficCounter(),
      logger: pino({ level: 'silent' }),
      config: { ...DEFAULTS, peerTtlS: 150 },
      random: Math.random,
      now: () => T0,
      instanceId: 'test',
    });
    for (let tick = 0; tick < 3; tick++) await vi.advanceTimersByTimeAsync(MAX_SWEEP_INTERVAL_MS);
    tracker.destroy();
    await vi.advanceTimersByTimeAsync(3 * MAX_SWEEP_INTERVAL_MS);
    expect(calls).toEqual(Array(3).fill([T0 - 150_000, EXPIRY_SLICE]));
  });
});
