/**
 * One contract suite for every SwarmRegistry: the in-memory one and the Redis one (a real
 * redis-server started here on a free port). Then what only a shared registry has to do:
 * failover without double counting, dead instances, namespaced keys with a TTL.
 */
import { randomBytes } from 'node:crypto';
import { MemorySwarmRegistry, RedisSwarmRegistry, type SwarmRegistry } from '@ringswarm/signaling-server';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisProcess } from '../helpers/redis-server.js';
import { randomInfoHash as hash, randomPeerId as peer } from '../helpers/tracker-socket.js';

type RedisClient = ReturnType<typeof createClient>;

const redis = new RedisProcess();
let client: RedisClient;

beforeAll(async () => {
  await redis.start();
  client = createClient({ url: redis.url });
  client.on('error', () => {});
  await client.connect();
});

afterAll(async () => {
  if (client?.isOpen) await client.close();
  await redis.stop();
});

const PEER_TTL_MS = 60_000;
const redisRegistry = (prefix: string, instanceId = randomBytes(4).toString('hex'), instanceTtlMs = 10_000) =>
  new RedisSwarmRegistry(client, { prefix, instanceId, peerTtlMs: PEER_TTL_MS, instanceTtlMs });

const IMPLEMENTATIONS: [string, () => SwarmRegistry][] = [
  ['MemorySwarmRegistry', () => new MemorySwarmRegistry()],
  ['RedisSwarmRegistry', () => redisRegistry(`ringswarm-test:${randomBytes(6).toString('hex')}:`)],
];

const T0 = 1_000_000;
const fixedRandom = () => 0.42;

describe.each(IMPLEMENTATIONS)('SwarmRegistry contract: %s', (_name, make) => {
  it('counts seeders, leechers and completed downloads; a download completes once', async () => {
    const r = make();
    const h = hash();
    const [a, b, c] = [peer(), peer(), peer()];
    expect(await r.counts(h)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
    expect(await r.upsert(h, a, { left: 0 }, false, T0)).toBe(true);
    expect(await r.upsert(h, b, { left: null }, false, T0)).toBe(true);
    expect(await r.upsert(h, c, { left: 100 }, false, T0)).toBe(true);
    expect(await r.counts(h)).toEqual({ complete: 1, incomplete: 2, downloaded: 0 });
    await r.upsert(h, c, { left: 0 }, true, T0 + 1);
    await r.upsert(h, c, { left: 0 }, true, T0 + 2);
    // Completing without having been a leecher here does not count.
    await r.upsert(h, peer(), { left: 0 }, true, T0 + 2);
    expect(await r.counts(h)).toEqual({ complete: 3, incomplete: 1, downloaded: 1 });
    expect(await r.totals()).toEqual({ swarms: 1, peers: 4, seeders: 3, leechers: 1 });
  });

  it('samples distinct members other than the caller, at most the number asked', async () => {
    const r = make();
    const h = hash();
    const members = Array.from({ length: 12 }, () => peer());
    for (const [i, id] of members.entries()) await r.upsert(h, id, { left: i % 3 === 0 ? 0 : 5 }, false, T0);
    const me = members[0]!;
    const few = await r.sample(h, me, 5, Math.random);
    expect(few).toHaveLength(5);
    expect(new Set(few).size).toBe(5);
    expect(few).not.toContain(me);
    for (const id of few) expect(members).toContain(id);
    const all = await r.sample(h, me, 50, fixedRandom);
    expect(all.sort()).toEqual(members.slice(1).sort());
    expect(await r.sample(h, me, 0, fixedRandom)).toEqual([]);
    expect(await r.sample(hash(), me, 5, fixedRandom)).toEqual([]);
  });

  it('announces in one step: joins, samples others, counts; refuses past maxSwarms', async () => {
    const r = make();
    const h = hash();
    const [a, b, c] = [peer(), peer(), peer()];
    expect(await r.announce(h, a, { left: 0 }, false, T0, 10, fixedRandom)).toEqual({
      peers: [],
      counts: { complete: 1, incomplete: 0, downloaded: 0 },
    });
    expect(await r.announce(h, b, { left: 3 }, false, T0, 10, fixedRandom)).toEqual({
      peers: [a],
      counts: { complete: 1, incomplete: 1, downloaded: 0 },
    });
    const third = await r.announce(h, c, { left: null }, false, T0, 10, Math.random);
    expect(third?.peers.sort()).toEqual([a, b].sort());
    expect(third?.counts).toEqual({ complete: 1, incomplete: 2, downloaded: 0 });
    expect((await r.announce(h, c, { left: null }, false, T0, 1, Math.random))?.peers).toHaveLength(1);
    expect(await r.announce(h, b, { left: 0 }, true, T0, 0, fixedRandom)).toEqual({
      peers: [],
      counts: { complete: 2, incomplete: 1, downloaded: 1 },
    });
    expect(await r.announce(hash(), a, { left: 0 }, false, T0, 10, fixedRandom, 1)).toBe(null);
    expect(await r.totals()).toEqual({ swarms: 1, peers: 3, seeders: 2, leechers: 1 });
  });

  it('refuses a swarm past maxSwarms, still updates the ones it is in', async () => {
    const r = make();
    const a = peer();
    const [h1, h2, h3] = [hash(), hash(), hash()];
    expect(await r.upsert(h1, a, { left: 0 }, false, T0, 2)).toBe(true);
    expect(await r.upsert(h2, a, { left: 0 }, false, T0, 2)).toBe(true);
    expect(await r.upsert(h3, a, { left: 0 }, false, T0, 2)).toBe(false);
    expect(await r.counts(h3)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
    expect(await r.upsert(h2, a, { left: 7 }, false, T0, 2)).toBe(true);
    expect(await r.counts(h2)).toEqual({ complete: 0, incomplete: 1, downloaded: 0 });
  });

  it('removes members; an empty swarm is gone, with its download count', async () => {
    const r = make();
    const h = hash();
    const [a, b] = [peer(), peer()];
    await r.upsert(h, a, { left: 5 }, false, T0);
    await r.upsert(h, a, { left: 0 }, true, T0);
    await r.upsert(h, b, { left: 5 }, false, T0);
    expect(await r.swarms()).toEqual([[h, { complete: 1, incomplete: 1, downloaded: 1 }]]);
    await r.remove(h, b);
    await r.remove(h, b);
    expect(await r.counts(h)).toEqual({ complete: 1, incomplete: 0, downloaded: 1 });
    await r.remove(h, a);
    expect(await r.counts(h)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
    expect(await r.swarms()).toEqual([]);
    expect(await r.totals()).toEqual({ swarms: 0, peers: 0, seeders: 0, leechers: 0 });
  });

  it('knows who shares a swarm, who is online, and forgets a released peer everywhere', async () => {
    const r = make();
    await r.publishInstance({ id: 'ignored-by-memory', connections: 3, ringMembers: 0 });
    const [h1, h2] = [hash(), hash()];
    const [a, b, c] = [peer(), peer(), peer()];
    for (const id of [a, b, c]) await r.claim(id, `socket-${id}`);
    await r.upsert(h1, a, { left: 0 }, false, T0);
    await r.upsert(h2, a, { left: 0 }, false, T0);
    await r.upsert(h2, b, { left: 1 }, false, T0);
    await r.upsert(h1, c, { left: 1 }, false, T0);
    expect(await r.shareSwarm(a, b)).toBe(true);
    expect(await r.shareSwarm(b, c)).toBe(false);
    expect(await r.shareSwarm(a, peer())).toBe(false);
    expect(await r.isOnline(a)).toBe(true);
    expect(await r.isOnline(peer())).toBe(false);
    expect((await r.totals()).peers).toBe(3);
    await r.release(a);
    expect(await r.isOnline(a)).toBe(false);
    expect(await r.shareSwarm(a, b)).toBe(false);
    expect(await r.counts(h1)).toEqual({ complete: 0, incomplete: 1, downloaded: 0 });
    expect(await r.counts(h2)).toEqual({ complete: 0, incomplete: 1, downloaded: 0 });
    expect(await r.totals()).toEqual({ swarms: 2, peers: 2, seeders: 0, leechers: 2 });
  });

  it('keeps ring members: samples others, knows pairs, forgets a released member', async () => {
    const r = make();
    await r.publishInstance({
      id: (r as { instanceId?: string }).instanceId ?? 'solo',
      connections: 3,
      ringMembers: 3,
    });
    const [a, b, c] = [peer(), peer(), peer()];
    for (const id of [a, b, c]) await r.claim(id, `socket-${id}`);
    expect(await r.sampleRing(a, 4, fixedRandom)).toEqual([]);
    // Joining answers with the members there before it (never the joiner itself).
    expect(await r.joinRing(a, 4, fixedRandom)).toEqual([]);
    expect(await r.joinRing(a, 4, fixedRandom)).toEqual([]);
    expect(await r.joinRing(b, 4, fixedRandom)).toEqual([a]);
    expect(await r.sampleRing(c, 4, fixedRandom)).toHaveLength(2);
    expect((await r.sampleRing(c, 4, Math.random)).sort()).toEqual([a, b].sort());
    expect(await r.sampleRing(a, 4, fixedRandom)).toEqual([b]);
    expect(await r.sampleRing(c, 1, Math.random)).toHaveLength(1);
    expect(await r.bothInRing(a, b)).toBe(true);
    expect(await r.bothInRing(a, c)).toBe(false);
    await r.release(b);
    expect(await r.bothInRing(a, b)).toBe(false);
    expect(await r.sampleRing(c, 4, fixedRandom)).toEqual([a]);
  });

  it('expires exactly the memberships last announced before the cut', async () => {
    const r = make();
    const h = hash();
    const [old, fresh] = [peer(), peer()];
    await r.upsert(h, old, { left: 0 }, false, T0);
    await r.upsert(h, fresh, { left: 0 }, false, T0);
    await r.upsert(h, fresh, { left: 0 }, false, T0 + 500);
    expect(await r.expire(T0)).toBe(0);
    expect(await r.expire(T0 + 1)).toBe(1);
    expect(await r.counts(h)).toEqual({ complete: 1, incomplete: 0, downloaded: 0 });
    expect(await r.sample(h, peer(), 5, fixedRandom)).toEqual([fresh]);
    expect(await r.expire(T0 + 10_000)).toBe(1);
    expect(await r.totals()).toEqual({ swarms: 0, peers: 0, seeders: 0, leechers: 0 });
  });

  it('reports the instance figures it was given', async () => {
    const r = make();
    const info = { id: (r as { instanceId?: string }).instanceId ?? 'solo', connections: 7, ringMembers: 2 };
    await r.publishInstance(info);
    expect(await r.instances()).toEqual([info]);
    await r.destroy();
    await r.destroy();
  });
});

describe('RedisSwarmRegistry: what a shared registry adds', () => {
  it('counts a peer that failed over to another instance once, and the old instance cannot remove it', async () => {
    const prefix = `ringswarm-test:${randomBytes(6).toString('hex')}:`;
    const a = redisRegistry(prefix, 'instance-a');
    const b = redisRegistry(prefix, 'instance-b');
    await a.publishInstance({ id: 'instance-a', connections: 1, ringMembers: 0 });
    await b.publishInstance({ id: 'instance-b', connections: 1, ringMembers: 0 });
    const h = hash();
    const [p, q] = [peer(), peer()];
    await a.claim(p, 'socket-a-p');
    await a.upsert(h, p, { left: 10 }, false, T0);
    expect(await b.claim(q, 'socket-b-q')).toBeNull();
    await b.upsert(h, q, { left: 0 }, false, T0);
    // Instances see each other's members.
    expect(await b.sample(h, q, 10, fixedRandom)).toEqual([p]);
    expect(await a.shareSwarm(p, q)).toBe(true);
    // p fails over to b and announces again; then a's late disconnect handler runs.
    // The claim is a check-and-set: it names the socket on the live instance it takes over from.
    expect(await b.claim(p, 'socket-b-p')).toBe('socket-a-p');
    await b.upsert(h, p, { left: 10 }, false, T0 + 1);
    await a.release(p);
    expect(await b.counts(h)).toEqual({ complete: 1, incomplete: 1, downloaded: 0 });
    expect(await a.totals()).toEqual({ swarms: 1, peers: 2, seeders: 1, leechers: 1 });
    expect(await a.isOnline(p)).toBe(true);
    // Its owner now releases it for real.
    await b.release(p);
    expect(await a.counts(h)).toEqual({ complete: 1, incomplete: 0, downloaded: 0 });
  });

  it('treats the peers of an instance whose heartbeat stopped as offline, and expires them', async () => {
    const prefix = `ringswarm-test:${randomBytes(6).toString('hex')}:`;
    const dead = redisRegistry(prefix, 'dead', 200);
    const live = redisRegistry(prefix, 'live');
    await dead.publishInstance({ id: 'dead', connections: 1, ringMembers: 0 });
    const h = hash();
    const p = peer();
    await dead.claim(p, 'socket-dead-p');
    await dead.upsert(h, p, { left: 0 }, false, T0);
    expect(await live.isOnline(p)).toBe(true);
    expect((await live.instances()).map((i) => i.id)).toEqual(['dead']);
    await expect.poll(() => live.isOnline(p), { timeout: 5_000 }).toBe(false);
    expect(await live.instances()).toEqual([]);
    expect(await live.expire(T0 + PEER_TTL_MS)).toBe(1);
    expect(await live.totals()).toEqual({ swarms: 0, peers: 0, seeders: 0, leechers: 0 });
  });

  it('leaves ring members of a dead instance out of samples and pairs', async () => {
    const prefix = `ringswarm-test:${randomBytes(6).toString('hex')}:`;
    const dead = redisRegistry(prefix, 'dead', 200);
    const live = redisRegistry(prefix, 'live');
    await dead.publishInstance({ id: 'dead', connections: 1, ringMembers: 1 });
    await live.publishInstance({ id: 'live', connections: 1, ringMembers: 1 });
    const [p, q] = [peer(), peer()];
    await dead.claim(p, 'socket-dead-p');
    await dead.joinRing(p, 4, fixedRandom);
    await live.claim(q, 'socket-live-q');
    expect(await live.joinRing(q, 4, fixedRandom)).toEqual([p]);
    expect(await live.sampleRing(q, 4, fixedRandom)).toEqual([p]);
    expect(await live.bothInRing(p, q)).toBe(true);
    await expect.poll(() => live.sampleRing(q, 4, fixedRandom), { timeout: 5_000 }).toEqual([]);
    expect(await live.bothInRing(p, q)).toBe(false);
    expect(await client.sMembers(`${prefix}ring`)).toEqual([q]);
  });

  it('lets only one of many peers joining the ring at once on two instances hear of no member', async () => {
    const prefix = `ringswarm-test:${randomBytes(6).toString('hex')}:`;
    const one = redisRegistry(prefix, 'one');
    const two = redisRegistry(prefix, 'two');
    await one.publishInstance({ id: 'one', connections: 8, ringMembers: 0 });
    await two.publishInstance({ id: 'two', connections: 8, ringMembers: 0 });
    const joiners = Array.from({ length: 16 }, (_, i) => ({ id: peer(), at: i % 2 === 0 ? one : two }));
    await Promise.all(joiners.map((j) => j.at.claim(j.id, `socket-${j.id}`)));
    // Everyone asks at once; an empty answer means "create the ring": two of them make two rings.
    const answers = await Promise.all(joiners.map((j) => j.at.joinRing(j.id, 4, Math.random)));
    expect(answers.filter((a) => a.length === 0)).toHaveLength(1);
    expect((await client.sMembers(`${prefix}ring`)).sort()).toEqual(joiners.map((j) => j.id).sort());
  });

  it('keeps every key under its prefix, each with a Redis expiry, or a sorted set the sweep trims', async () => {
    const prefix = `ringswarm-test:${randomBytes(6).toString('hex')}:`;
    const r = redisRegistry(prefix, 'solo');
    await r.publishInstance({ id: 'solo', connections: 1, ringMembers: 0 });
    const h = hash();
    const [a, b] = [peer(), peer()];
    await r.claim(a, 'socket-r-a');
    await r.upsert(h, a, { left: 5 }, false, T0);
    await r.upsert(h, a, { left: 0 }, true, T0);
    await r.upsert(h, b, { left: 5 }, false, T0);
    const keys = (await client.keys(`${prefix}*`)).sort();
    expect(keys.length).toBeGreaterThan(0);
    const swept = new Set(['swarms', 'peers', 'members'].map((k) => `${prefix}${k}`));
    for (const key of keys) {
      if (swept.has(key)) continue;
      const ttl = await client.pTTL(key);
      expect({ key, ttl: ttl > 0 && ttl <= 24 * 3_600_000 }).toEqual({ key, ttl: true });
    }
    expect(keys).toContain(`${prefix}swarm:${h}:seeders`);
    expect(await client.pTTL(`${prefix}swarm:${h}:seeders`)).toBeLessThanOrEqual(2 * PEER_TTL_MS);
    expect(await client.keys('ringswarm:swarm:*')).toEqual([]);
  });

  it('fails fast while Redis is down and works again once it is back (scripts reloaded)', async () => {
    const own = new RedisProcess();
    await own.start();
    const c: RedisClient = createClient({
      url: own.url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: () => 50 },
    });
    c.on('error', () => {});
    await c.connect();
    try {
      const r = new RedisSwarmRegistry(c, { instanceId: 'x', peerTtlMs: PEER_TTL_MS, instanceTtlMs: 10_000 });
      const h = hash();
      expect(await r.upsert(h, peer(), { left: 0 }, false, T0)).toBe(true);
      await own.stop();
      await expect(r.counts(h)).rejects.toThrow();
      await own.start();
      await expect.poll(() => c.isReady, { timeout: 10_000 }).toBe(true);
      // A restarted Redis without persistence has lost both the data and the scripts.
      expect(await r.counts(h)).toEqual({ complete: 0, incomplete: 0, downloaded: 0 });
      expect(await r.upsert(h, peer(), { left: 0 }, false, T0)).toBe(true);
      expect(await r.counts(h)).toEqual({ complete: 1, incomplete: 0, downloaded: 0 });
    } finally {
      c.destroy();
      await own.stop();
    }
  });
});
