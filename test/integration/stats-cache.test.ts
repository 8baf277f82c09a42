/**
 * /api/stats under load: 100 connected sockets, each in as many swarms as it may be in (256,
 * the default --max-swarms), and 100 concurrent requests of each view. Each view is built once
 * (the /metrics counter of builds says so), every request gets the same answer, and neither
 * answer grows with the sockets: the public one is aggregate counts, the admin's per-swarm
 * view lists the largest swarms only. After a second a request builds afresh.
 */
import { createHash } from 'node:crypto';
import { type RunningServer, STATS_CACHE_MS, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, SocketPool } from '../helpers/tracker-socket.js';

const SOCKETS = 100;
const SWARMS_PER_SOCKET = 256;
const REQUESTS = 100;
/** Distinct discovery keys, distinct in their first 12 digits too (the admin view's labels). */
const key = (n: number) => createHash('sha256').update(String(n)).digest('hex');

describe('/api/stats cached for a second', () => {
  let server: RunningServer | undefined;
  let pool: SocketPool | undefined;

  afterEach(async () => {
    pool?.closeAll();
    await server?.close();
  });

  it('builds each view once for 100 concurrent requests, and the answers stay small', async () => {
    // A clock that stands still until the test moves it: the cache's second is the test's to end.
    let t = Date.now();
    const now = () => t;
    server = await startServer(
      { port: 0, host: '127.0.0.1', adminToken: ADMIN_TOKEN, maxIdsPerIp: 0 },
      { logger: pino({ level: 'silent' }), now },
    );
    pool = new SocketPool(server.url, now);
    const peers = await Promise.all(Array.from({ length: SOCKETS }, () => pool!.peer()));
    // Memberships straight into the registry (as 25,600 announces would leave them): every
    // peer in one big swarm and in 255 of its own.
    for (const [p, peer] of peers.entries()) {
      await server.registry.upsert(key(0), peer.id, { left: 0 }, false, t);
      for (let s = 1; s < SWARMS_PER_SOCKET; s++) {
        await server.registry.upsert(key(p * SWARMS_PER_SOCKET + s), peer.id, { left: 10 }, false, t);
      }
    }
    const swarms = 1 + SOCKETS * (SWARMS_PER_SOCKET - 1);
    const url = server.url;
    const get = async (admin: boolean) => {
      const res = await fetch(`${url}/api/stats`, admin ? { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } : {});
      expect(res.status).toBe(200);
      return res.text();
    };
    const builds = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const count = (view: string) =>
        Number(new RegExp(`^ringswarm_stats_builds_total\\{view="${view}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { public: count('public'), admin: count('admin') };
    };

    const [open, admin] = await Promise.all([
      Promise.all(Array.from({ length: REQUESTS }, () => get(false))),
      Promise.all(Array.from({ length: REQUESTS }, () => get(true))),
    ]);
    expect(await builds()).toEqual({ public: 1, admin: 1 });
    expect(new Set(open).size).toBe(1);
    expect(new Set(admin).size).toBe(1);

    const body = JSON.parse(open[0]!) as Record<string, unknown>;
    expect(body).toMatchObject({ connections: SOCKETS, peers: SOCKETS, swarms, seeders: SOCKETS });
    expect(body.perSwarm).toBeUndefined();
    // Aggregate counts: the same few hundred bytes for 1 socket or 100,000.
    expect(open[0]!.length).toBeLessThan(2_048);

    const adminBody = JSON.parse(admin[0]!) as { perSwarm: Record<string, unknown>; perSwarmTotal: number };
    expect(adminBody.perSwarmTotal).toBe(swarms);
    const listed = Object.entries(adminBody.perSwarm);
    expect(listed.length).toBeLessThanOrEqual(200);
    // The largest swarm comes first.
    expect(listed[0]).toEqual([key(0).slice(0, 12), { complete: SOCKETS, incomplete: 0, downloaded: 0 }]);
    // Capped: on the uncapped answer 25,501 swarms made it about 1.5 MB.
    expect(admin[0]!.length).toBeLessThan(64 * 1024);

    // Within the second: still the one build, even after a change.
    await server.registry.upsert(key(1), peers[1]!.id, { left: 0 }, false, t);
    await get(false);
    expect((await builds()).public).toBe(1);
    // A second later the next request builds again and sees the change.
    t += STATS_CACHE_MS;
    const fresh = JSON.parse(await get(false)) as { seeders: number };
    expect(fresh.seeders).toBe(SOCKETS + 1);
    expect(await builds()).toEqual({ public: 2, admin: 1 });
  });
});
