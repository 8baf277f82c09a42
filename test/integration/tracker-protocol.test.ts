import { ErrorCode } from '@ringswarm/shared';
import { type RunningServer, type ServerConfig, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { signedAuth } from '../helpers/signed-auth.js';
import { announce, emit, randomInfoHash, SocketPool } from '../helpers/tracker-socket.js';

describe('tracker protocol: scrape, ring bootstrap, limits, expiry, metrics', () => {
  let server: RunningServer | undefined;
  let pool: SocketPool;
  let clock = 1_000_000;

  async function start(config: Partial<ServerConfig> = {}) {
    server = await startServer(
      { port: 0, host: '127.0.0.1', ...config },
      { logger: pino({ level: 'silent' }), now: () => clock },
    );
    pool = new SocketPool(server.url, () => clock);
    return server;
  }

  afterEach(async () => {
    pool?.closeAll();
    await server?.close();
    server = undefined;
  });

  it('scrape reports seeders, leechers and completed downloads per swarm', async () => {
    await start();
    const [h1, h2, unknown] = [randomInfoHash(), randomInfoHash(), randomInfoHash()];
    const a = await pool.peer();
    const b = await pool.peer();
    await announce(a.socket, h1, 0);
    await announce(b.socket, h1, 500);
    await announce(b.socket, h2, 0);
    await announce(b.socket, h1, 0, 'completed');
    expect(await emit(a.socket, 'scrape', { discoveryKeys: [h1, h2, unknown] })).toEqual({
      ok: true,
      files: {
        [h1]: { complete: 2, incomplete: 0, downloaded: 1 },
        [h2]: { complete: 1, incomplete: 0, downloaded: 0 },
        [unknown]: { complete: 0, incomplete: 0, downloaded: 0 },
      },
    });
    for (const bad of [{}, { discoveryKeys: [] }, { discoveryKeys: ['xyz'] }, { discoveryKeys: Array(101).fill(h1) }]) {
      expect(await emit(a.socket, 'scrape', bad)).toMatchObject({ ok: false, code: ErrorCode.INVALID_PAYLOAD });
    }
  });

  it('ring:bootstrap names live members, never the caller, and lets the named ones signal each other', async () => {
    await start();
    const first = await pool.peer();
    expect(await emit(first.socket, 'ring:bootstrap', { k: 4 })).toEqual({ ok: true, peers: [] });
    const others = await Promise.all([pool.peer(), pool.peer(), pool.peer()]);
    const seen = new Set<string>();
    for (const p of others) {
      const res = await emit(p.socket, 'ring:bootstrap', { k: 4 });
      if (!res.ok) throw new Error(res.code);
      const peers = res.peers as string[];
      expect(peers).not.toContain(p.id);
      expect(peers.length).toBeGreaterThan(0);
      for (const id of peers) seen.add(id);
    }
    expect(seen.has(first.id)).toBe(true);
    expect(server!.ring.size).toBe(4);

    // A member named in a bootstrap answer may signal the caller without sharing a swarm; outsiders may not.
    const target = others[0]!;
    const got = new Promise((resolve) => target.socket.once('signal', resolve));
    expect(await emit(first.socket, 'signal', { to: target.id, data: { type: 'offer' } })).toEqual({ ok: true });
    expect(await got).toEqual({ from: first.id, data: { type: 'offer' } });
    const outsider = await pool.peer();
    expect(await emit(outsider.socket, 'signal', { to: target.id, data: {} })).toMatchObject({
      code: ErrorCode.NOT_ALLOWED,
    });

    // A member that disconnects is no longer handed out.
    first.socket.disconnect();
    await expect.poll(() => server!.ring.size).toBe(3);
    for (const bad of [{}, { k: 0 }, { k: 17 }, { k: 'four' }]) {
      expect(await emit(outsider.socket, 'ring:bootstrap', bad)).toMatchObject({ code: ErrorCode.INVALID_PAYLOAD });
    }
  });

  it('ring:bootstrap for a leaf (member: false) names the member just before its ID first, and never counts it as one', async () => {
    await start();
    // One that would be a leaf of an empty ring forms the ring: it is counted at once, so that
    // another asking at the same moment hears of it.
    const first = await pool.peer();
    expect(await emit(first.socket, 'ring:bootstrap', { k: 1, member: false })).toEqual({ ok: true, peers: [] });
    expect(server!.ring.size).toBe(1);
    const members = [first, ...(await Promise.all([pool.peer(), pool.peer(), pool.peer()]))];
    for (const m of members.slice(1)) {
      expect(await emit(m.socket, 'ring:bootstrap', { k: 1 })).toMatchObject({ ok: true });
    }
    const leaf = await pool.peer();
    const res = await emit(leaf.socket, 'ring:bootstrap', { k: 3, member: false });
    if (!res.ok) throw new Error(res.code);
    const ids = members.map((m) => m.id).sort();
    const before = ids.filter((id) => id < leaf.id).pop() ?? ids[ids.length - 1];
    expect((res.peers as string[])[0]).toBe(before);
    expect(res.peers).toHaveLength(3);
    expect(server!.ring.size).toBe(4);
    // No joiner is sent to it: it routes no one.
    for (let i = 0; i < 5; i++) {
      const joiner = await pool.peer();
      const answer = await emit(joiner.socket, 'ring:bootstrap', { k: 16 });
      if (!answer.ok) throw new Error(answer.code);
      expect(answer.peers as string[]).not.toContain(leaf.id);
    }
    expect(await emit(leaf.socket, 'ring:bootstrap', { k: 1, member: 'no' })).toMatchObject({
      code: ErrorCode.INVALID_PAYLOAD,
    });
  });

  it('answers unknown events and events without an ack, and keeps the socket', async () => {
    await start();
    const { socket } = await pool.peer();
    expect(await emit(socket, 'steal-files', {})).toMatchObject({ ok: false, code: ErrorCode.UNKNOWN_EVENT });
    // Names an emitter or this protocol gives a meaning to are unknown events here too.
    for (const name of ['error', '__proto__', 'hello']) {
      expect(await emit(socket, name, {})).toMatchObject({ ok: false, code: ErrorCode.UNKNOWN_EVENT });
      socket.emit(name, { no: 'ack' });
    }
    socket.emit('announce', { discoveryKey: randomInfoHash() }); // no ack: nothing to answer with
    expect(await socket.timeout(5_000).emitWithAck('announce', {}, 'extra')).toMatchObject({
      code: ErrorCode.ACK_REQUIRED,
    });
    await expect.poll(() => server!.traffic.errors[ErrorCode.ACK_REQUIRED]).toBe(2);
    expect(await announce(socket, randomInfoHash(), 0)).toMatchObject({ ok: true });
    expect(socket.connected).toBe(true);
  });

  it('rate-limits a flooding socket, then disconnects it, while others are served', async () => {
    await start({ rateLimitPerS: 1, rateBurst: 5, rateStrikes: 10 });
    const flooder = await pool.peer();
    const calm = await pool.peer();
    const results = await Promise.all(
      Array.from({ length: 9 }, () => emit(flooder.socket, 'scrape', { discoveryKeys: [randomInfoHash()] })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(results.filter((r) => !r.ok && r.code === ErrorCode.RATE_LIMITED)).toHaveLength(4);
    const closed = new Promise((resolve) => flooder.socket.once('disconnect', resolve));
    for (let i = 0; i < 10; i++) flooder.socket.emit('scrape', { discoveryKeys: [] }, () => {});
    expect(await closed).toBe('io server disconnect');
    expect(await announce(calm.socket, randomInfoHash(), 0)).toMatchObject({ ok: true });
  });

  it('disconnects a socket that sends an oversize message; others are unaffected', async () => {
    await start({ maxMessageBytes: 4096 });
    const big = await pool.peer();
    const calm = await pool.peer();
    const closed = new Promise((resolve) => big.socket.once('disconnect', resolve));
    big.socket.emit('signal', { to: calm.id, data: { sdp: 'x'.repeat(10_000) } }, () => {});
    expect(await closed).toBe('transport close');
    expect(await announce(calm.socket, randomInfoHash(), 0)).toMatchObject({ ok: true });
  });

  it('limits swarms per connection and connections per server', async () => {
    await start({ maxSwarmsPerPeer: 2, maxConnections: 2 });
    const a = await pool.peer();
    const h = [randomInfoHash(), randomInfoHash(), randomInfoHash()];
    expect(await announce(a.socket, h[0]!, 0)).toMatchObject({ ok: true });
    expect(await announce(a.socket, h[1]!, 0)).toMatchObject({ ok: true });
    expect(await announce(a.socket, h[2]!, 0)).toMatchObject({ ok: false, code: ErrorCode.TOO_MANY_SWARMS });
    expect(await announce(a.socket, h[1]!, 0, 'update')).toMatchObject({ ok: true });
    await pool.peer();
    expect((await pool.refused(await signedAuth(undefined, clock))).code).toBe(ErrorCode.SERVER_FULL);
  });

  it('drops swarm members that stop announcing after the TTL, keeps those that announce', async () => {
    await start({ peerTtlS: 0.2 });
    const hash = randomInfoHash();
    const quiet = await pool.peer();
    const chatty = await pool.peer();
    await announce(quiet.socket, hash, 0);
    await announce(chatty.socket, hash, 10);
    clock += 150;
    await announce(chatty.socket, hash, 10, 'update');
    clock += 150;
    await expect
      .poll(() => server!.registry.counts(hash), { timeout: 2_000 })
      .toEqual({
        complete: 0,
        incomplete: 1,
        downloaded: 0,
      });
    expect(quiet.socket.connected).toBe(true);
  });

  it('exposes Prometheus metrics', async () => {
    await start();
    const hash = randomInfoHash();
    const a = await pool.peer();
    const b = await pool.peer();
    await announce(a.socket, hash, 0);
    await announce(b.socket, hash, null);
    await emit(a.socket, 'announce', { nonsense: true });
    await emit(a.socket, 'signal', { to: b.id, data: { type: 'offer' } });
    const res = await fetch(`${server!.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const value = (line: string) => {
      const found = text.split('\n').find((l) => l.startsWith(`${line} `));
      return found === undefined ? undefined : Number(found.slice(line.length + 1));
    };
    expect(value('ringswarm_connections')).toBe(2);
    expect(value('ringswarm_swarms')).toBe(1);
    expect(value('ringswarm_peers')).toBe(2);
    expect(value('ringswarm_seeders')).toBe(1);
    expect(value('ringswarm_leechers')).toBe(1);
    expect(value('ringswarm_events_total{event="announce"}')).toBe(3);
    expect(value('ringswarm_events_total{event="signal"}')).toBe(1);
    expect(value(`ringswarm_errors_total{code="${ErrorCode.INVALID_PAYLOAD}"}`)).toBe(1);
    expect(value('ringswarm_relayed_bytes_total{event="signal"}')).toBeGreaterThan(0);
    expect(value('ringswarm_transport_bytes_total{direction="in"}')).toBeGreaterThan(0);
  });
});
