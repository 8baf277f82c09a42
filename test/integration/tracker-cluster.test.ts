/**
 * Two tracker instances (the built server, as child processes) on one real redis-server:
 * peers on different instances find each other and move a file over real WebRTC; a killed
 * instance's peers fail over and nobody is counted twice; Redis going away makes /health
 * unhealthy without a crash, and its return makes it healthy again.
 */
import { randomBytes } from 'node:crypto';
import { concatBytes, discoveryKeyOf, RingswarmClient, readAllPieces, type Swarm } from '@ringswarm/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisProcess } from '../helpers/redis-server.js';
import { seedable } from '../helpers/seed.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';
import { ADMIN_TOKEN, announce, emit, randomInfoHash, SocketPool, swarmCounts } from '../helpers/tracker-socket.js';
import { waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const MiB = 1024 * 1024;

interface Stats {
  connections: number;
  peers: number;
  seeders: number;
  leechers: number;
  swarms: number;
  instance: { id: string; connections: number };
  cluster: { instances: number; connections: number };
}

const stats = async (server: ServerProcess): Promise<Stats> => (await fetch(`${server.url}/api/stats`)).json();
const health = async (server: ServerProcess) => {
  const res = await fetch(`${server.url}/health`);
  return { status: res.status, body: (await res.json()) as { ok: boolean } };
};

async function expectSameBytes(download: Swarm, data: Uint8Array) {
  const received = concatBytes(await readAllPieces(download.manifest!, download.store));
  expect(received.length).toBe(data.length);
  expect(sha(received)).toBe(sha(data));
}

describe('tracker cluster: two instances on one Redis', () => {
  let redis: RedisProcess;
  let servers: ServerProcess[] = [];
  const clients: RingswarmClient[] = [];
  let pool: SocketPool | undefined;

  beforeEach(async () => {
    redis = new RedisProcess();
    await redis.start();
    servers = await Promise.all(
      [0, 1].map(() => startServerProcess(['--redis-url', redis.url, '--admin-token', ADMIN_TOKEN])),
    );
  });

  afterEach(async () => {
    pool?.closeAll();
    for (const c of clients.splice(0)) c.destroy();
    try {
      await Promise.all(servers.map((s) => s.stop()));
    } finally {
      await redis.stop();
    }
  });

  const client = (urls: string[]) => {
    const c = new RingswarmClient({ trackerUrl: urls, wrtc });
    clients.push(c);
    return c;
  };

  it('peers on different instances find each other and complete a transfer; counts are cluster-wide', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const data = new Uint8Array(randomBytes(2 * MiB));
    const seed = await seedable('random.bin', data);
    const seeder = client([a.url]);
    const leecher = client([b.url]);
    await seeder.seed(seed.manifest, seed.store, seed.have);
    const download = leecher.download(seed.infoHash);
    await waitFor(download, 'done', 45_000);
    await expectSameBytes(download, data);
    for (const server of servers) {
      await expect
        .poll(() => swarmCounts(server.url, discoveryKeyOf(seed.infoHash)), { timeout: 10_000 })
        .toEqual({ complete: 2, incomplete: 0, downloaded: 1 });
      const s = await stats(server);
      expect({
        swarms: s.swarms,
        peers: s.peers,
        seeders: s.seeders,
        leechers: s.leechers,
        connections: s.connections,
      }).toEqual({
        swarms: 1,
        peers: 2,
        seeders: 2,
        leechers: 0,
        connections: 1,
      });
      await expect
        .poll(async () => (await stats(server)).cluster, { timeout: 10_000 })
        .toEqual({
          instances: 2,
          connections: 2,
          members: expect.any(Array),
        });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^ringswarm_peers 2$/m);
      expect(metrics).toMatch(/^ringswarm_connections 1$/m);
      expect(metrics).toMatch(/^ringswarm_cluster_instances 2$/m);
    }
  });

  it('relays a signal to a peer on the other instance, stamped with the sender', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const onA = new SocketPool(a.url);
    const onB = new SocketPool(b.url);
    pool = {
      closeAll: () => {
        onA.closeAll();
        onB.closeAll();
      },
    } as SocketPool;
    const hash = randomInfoHash();
    const x = await onA.peer();
    const y = await onB.peer();
    const stranger = await onB.peer();
    await announce(x.socket, hash, 0);
    const res = await announce(y.socket, hash, null);
    expect(res).toMatchObject({ ok: true, peers: [x.id], complete: 1, incomplete: 1 });
    const got = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the signal never reached the other instance')), 10_000);
      x.socket.once('signal', (msg: unknown) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
    expect(await emit(y.socket, 'signal', { to: x.id, data: { type: 'offer', sdp: 'v=0' } })).toEqual({ ok: true });
    expect(await got).toEqual({ from: y.id, data: { type: 'offer', sdp: 'v=0' } });
    // The reply goes through A, which gave no answer naming them: the introduction is shared.
    const answered = new Promise((resolve) => y.socket.once('signal', resolve));
    expect(await emit(x.socket, 'signal', { to: y.id, data: { type: 'answer' } })).toEqual({ ok: true });
    expect(await answered).toEqual({ from: x.id, data: { type: 'answer' } });
    expect(await emit(stranger.socket, 'signal', { to: x.id, data: {} })).toMatchObject({ code: 'ERR_NOT_ALLOWED' });
    // A disconnect on one instance is seen by the other.
    x.socket.disconnect();
    await expect
      .poll(() => swarmCounts(b.url, hash), { timeout: 10_000 })
      .toEqual({
        complete: 0,
        incomplete: 1,
        downloaded: 0,
      });
    expect(await emit(y.socket, 'signal', { to: x.id, data: {} })).toMatchObject({ code: 'ERR_UNKNOWN_PEER' });

    // Ring members are one set across instances: a newcomer on B is introduced to one on A.
    const ringA = await onA.peer();
    const ringB = await onB.peer();
    expect(await emit(ringA.socket, 'ring:bootstrap', { k: 4 })).toEqual({ ok: true, peers: [] });
    expect(await emit(ringB.socket, 'ring:bootstrap', { k: 4 })).toEqual({ ok: true, peers: [ringA.id] });
    const offered = new Promise((resolve) => ringA.socket.once('signal', resolve));
    expect(await emit(ringB.socket, 'signal', { to: ringA.id, data: { type: 'offer' } })).toEqual({ ok: true });
    expect(await offered).toEqual({ from: ringB.id, data: { type: 'offer' } });
    const ringAnswer = new Promise((resolve) => ringB.socket.once('signal', resolve));
    expect(await emit(ringA.socket, 'signal', { to: ringB.id, data: { type: 'answer' } })).toEqual({ ok: true });
    expect(await ringAnswer).toEqual({ from: ringA.id, data: { type: 'answer' } });
    // y was introduced to x only: ringA is out of its reach.
    expect(await emit(y.socket, 'signal', { to: ringA.id, data: {} })).toMatchObject({ code: 'ERR_NOT_ALLOWED' });
  });

  it('when an instance is killed mid-run its peers fail over, re-announce, and the transfer completes', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const data = new Uint8Array(randomBytes(4 * MiB));
    const seed = await seedable('random.bin', data);
    const seeder = client([a.url, b.url]);
    // Slow enough that the kill lands while the first download runs.
    seeder.setRateLimits({ upload: 1 * MiB });
    const first = client([a.url, b.url]);
    await seeder.seed(seed.manifest, seed.store, seed.have);
    const download1 = first.download(seed.infoHash);
    await expect.poll(() => download1.stats().downloaded, { timeout: 30_000 }).toBeGreaterThan(0);
    console.log(`instance killed with ${download1.stats().downloaded} of ${data.length} bytes downloaded`);

    a.child.kill('SIGKILL');
    await a.stop();
    await expect.poll(() => seeder.tracker.connected && seeder.tracker.url === b.url, { timeout: 20_000 }).toBe(true);
    await expect.poll(() => first.tracker.connected && first.tracker.url === b.url, { timeout: 20_000 }).toBe(true);

    // A newcomer on the surviving instance finds the peers that came over from the dead one.
    const second = client([b.url]);
    const download2 = second.download(seed.infoHash);
    await Promise.all([waitFor(download1, 'done', 60_000), waitFor(download2, 'done', 60_000)]);
    await expectSameBytes(download1, data);
    await expectSameBytes(download2, data);

    // Three peers, each counted once; the dead instance drops out of the cluster figures.
    await expect
      .poll(() => swarmCounts(b.url, discoveryKeyOf(seed.infoHash)), { timeout: 20_000 })
      .toEqual({ complete: 3, incomplete: 0, downloaded: 2 });
    await expect
      .poll(
        async () => {
          const s = await stats(b);
          return { peers: s.peers, seeders: s.seeders, leechers: s.leechers, cluster: s.cluster };
        },
        { timeout: 20_000 },
      )
      .toEqual({
        peers: 3,
        seeders: 3,
        leechers: 0,
        cluster: { instances: 1, connections: 3, members: expect.any(Array) },
      });
  });

  it('reports unhealthy while Redis is down, keeps its sockets, and recovers when Redis is back', async () => {
    const [a] = servers as [ServerProcess];
    pool = new SocketPool(a.url);
    const p = await pool.peer();
    const hash = randomInfoHash();
    expect(await announce(p.socket, hash, 0)).toMatchObject({ ok: true, complete: 1 });
    expect(await health(a)).toEqual({ status: 200, body: expect.objectContaining({ ok: true, mode: 'redis' }) });

    await redis.stop();
    await expect.poll(async () => (await health(a)).status, { timeout: 10_000 }).toBe(503);
    expect((await health(a)).body).toMatchObject({ ok: false, redis: 'unreachable' });
    // The registry cannot answer: a retryable error, not a crash and not a dropped socket.
    expect(await announce(p.socket, hash, 0, 'update')).toMatchObject({ ok: false, code: 'ERR_TIMEOUT' });
    expect((await fetch(`${a.url}/api/stats`)).status).toBe(503);
    expect(p.socket.connected).toBe(true);

    await redis.start();
    await expect.poll(async () => (await health(a)).status, { timeout: 20_000 }).toBe(200);
    // Redis came back empty (no persistence): the next announce puts the peer back.
    expect(await announce(p.socket, hash, 0, 'update')).toMatchObject({ ok: true, complete: 1, incomplete: 0 });
    expect((await stats(a)).peers).toBe(1);
    expect(p.socket.connected).toBe(true);
    for (const s of servers) expect(s.child.exitCode).toBe(null);
  });
});
