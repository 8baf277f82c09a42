/**
 * The Redis registry's expiry sweep in slices: one tick is one bounded script call (ZRANGE
 * BYSCORE ... LIMIT slice), never a walk of every membership; enough ticks drop everything
 * expired and nothing fresh. Needs a real redis-server (started here; the helper says how to
 * install it when it is missing).
 */
import { randomBytes } from 'node:crypto';
import { RedisSwarmRegistry } from '@ringswarm/signaling-server';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisProcess } from '../helpers/redis-server.js';

const redis = new RedisProcess();
let client: ReturnType<typeof createClient>;

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

const id = (n: number) => n.toString(16).padStart(40, '0');
const key = (n: number) => n.toString(16).padStart(64, '0');
const T0 = 1_000_000;

describe('RedisSwarmRegistry.expire in slices', () => {
  it('drops at most the slice per tick in one script call, and everything expired after enough ticks', async () => {
    const prefix = `ringswarm-test:${randomBytes(6).toString('hex')}:`;
    const r = new RedisSwarmRegistry(client, {
      prefix,
      instanceId: 'sweeper',
      peerTtlMs: 600_000,
      instanceTtlMs: 10_000,
    });
    // One peer's 20 memberships at a time: a busy machine must not time the commands out.
    for (let p = 0; p < 60; p++) {
      await Promise.all(Array.from({ length: 20 }, (_, s) => r.upsert(key(s), id(p), { left: 0 }, false, T0)));
    }
    for (let p = 60; p < 90; p++) await r.upsert(key(0), id(p), { left: 5 }, false, T0 + 10_000);
    const members = () => client.zCard(`${prefix}members`);
    expect(await members()).toBe(1_230);
    const slice = 100;
    const cut = T0 + 5_000;
    const before = r.calls.expire ?? 0;
    expect(await r.expire(cut, slice)).toBe(slice);
    expect((r.calls.expire ?? 0) - before).toBe(1);
    expect(await members()).toBe(1_130);
    let ticks = 1;
    while ((await r.expire(cut, slice)) > 0) ticks++;
    expect(ticks).toBe(12);
    expect(await members()).toBe(30);
    expect(await r.totals()).toEqual({ swarms: 1, peers: 30, seeders: 0, leechers: 30 });
    await r.destroy();
  });
});
