import { ErrorCode, PROTOCOL_VERSION } from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signedAuth } from '../helpers/signed-auth.js';
import {
  ADMIN_TOKEN,
  adminStats,
  announce,
  emit,
  randomInfoHash as infoHash,
  randomPeerId as peerId,
  SocketPool,
  swarmPrefix,
} from '../helpers/tracker-socket.js';

describe('tracker over a real socket.io connection', () => {
  let server: RunningServer;
  let pool: SocketPool;

  beforeEach(async () => {
    server = await startServer(
      { port: 0, host: '127.0.0.1', adminToken: ADMIN_TOKEN },
      { logger: pino({ level: 'silent' }) },
    );
    pool = new SocketPool(server.url);
  });

  afterEach(async () => {
    pool.closeAll();
    await server.close();
  });

  const peer = () => pool.peer();
  const refused = (auth: unknown) => pool.refused(auth);

  it('refuses a missing, malformed or unproven peer ID and a wrong version, with codes', async () => {
    expect((await refused({})).code).toBe(ErrorCode.INVALID_HANDSHAKE);
    expect((await refused({ ...(await signedAuth()), peerId: 'not-hex' })).code).toBe(ErrorCode.INVALID_HANDSHAKE);
    expect((await refused({ peerId: peerId(), version: PROTOCOL_VERSION })).code).toBe(ErrorCode.INVALID_HANDSHAKE);
    expect((await refused({ ...(await signedAuth()), version: PROTOCOL_VERSION + 1 })).code).toBe(
      ErrorCode.VERSION_MISMATCH,
    );
    // A live peer's ID with a proof by another key (squatting: attack-squatting.test.ts).
    const { id } = await peer();
    expect((await refused({ ...(await signedAuth()), peerId: id })).code).toBe(ErrorCode.BAD_PROOF);
  });

  it('answers announces with other peers and seeder/leecher counts, never the caller', async () => {
    const hash = infoHash();
    const a = await peer();
    const b = await peer();
    const c = await peer();
    expect(await announce(a.socket, hash, 0)).toMatchObject({ ok: true, peers: [], complete: 1, incomplete: 0 });
    expect(await announce(b.socket, hash, null)).toMatchObject({ ok: true, peers: [a.id], complete: 1, incomplete: 1 });
    const res = await announce(c.socket, hash, 100);
    if (!res.ok) throw new Error(res.code);
    expect(res.peers.sort()).toEqual([a.id, b.id].sort());
    expect(res).toMatchObject({ complete: 1, incomplete: 2, interval: 60 });

    // c finishes: counted as a seeder and as one completed download.
    await announce(c.socket, hash, 0, 'completed');
    expect(await server.registry.counts(hash)).toEqual({ complete: 2, incomplete: 1, downloaded: 1 });
    // b stops; a disconnects: both leave the swarm and the counts follow.
    await announce(b.socket, hash, null, 'stopped');
    a.socket.disconnect();
    await expect.poll(() => server.registry.counts(hash)).toEqual({ complete: 1, incomplete: 0, downloaded: 1 });
  });

  it('answers invalid payloads with ERR_INVALID_PAYLOAD and keeps the socket working', async () => {
    const { socket } = await peer();
    const bad: unknown[] = [
      null,
      42,
      'announce',
      {},
      { discoveryKey: 'xyz', event: 'started', left: 0, uploaded: 0, downloaded: 0, numwant: 5 },
      { discoveryKey: infoHash(), event: 'bogus', left: 0, uploaded: 0, downloaded: 0, numwant: 5 },
      { discoveryKey: infoHash(), event: 'started', left: -1, uploaded: 0, downloaded: 0, numwant: 5 },
      { discoveryKey: infoHash(), event: 'started', left: 0, uploaded: 0.5, downloaded: 0, numwant: 5 },
      { discoveryKey: infoHash(), event: 'started', left: 0, uploaded: 0, downloaded: 0, numwant: 5, extra: 1 },
    ];
    for (const payload of bad) {
      expect(await emit(socket, 'announce', payload)).toMatchObject({ ok: false, code: ErrorCode.INVALID_PAYLOAD });
    }
    for (const payload of [null, {}, { to: 'nope', data: {} }, { to: peerId(), data: 'x' }]) {
      expect(await emit(socket, 'signal', payload)).toMatchObject({ ok: false, code: ErrorCode.INVALID_PAYLOAD });
    }
    expect(socket.connected).toBe(true);
    expect(await announce(socket, infoHash(), 0)).toMatchObject({ ok: true });
  });

  it('relays signals stamped with the sender ID, only between peers that share a swarm', async () => {
    const hash = infoHash();
    const a = await peer();
    const b = await peer();
    const stranger = await peer();
    await announce(a.socket, hash, 0);
    await announce(b.socket, hash, null);
    await announce(stranger.socket, infoHash(), 0);

    const received = new Promise<unknown>((resolve) => b.socket.once('signal', resolve));
    expect(await emit(a.socket, 'signal', { to: b.id, data: { type: 'offer', sdp: 'v=0' } })).toEqual({ ok: true });
    expect(await received).toEqual({ from: a.id, data: { type: 'offer', sdp: 'v=0' } });

    expect(await emit(stranger.socket, 'signal', { to: b.id, data: { type: 'offer' } })).toMatchObject({
      ok: false,
      code: ErrorCode.NOT_ALLOWED,
    });
    expect(await emit(a.socket, 'signal', { to: peerId(), data: { type: 'offer' } })).toMatchObject({
      ok: false,
      code: ErrorCode.UNKNOWN_PEER,
    });
    const big = { type: 'offer', sdp: 'x'.repeat(20_000) };
    expect(await emit(a.socket, 'signal', { to: b.id, data: big })).toMatchObject({
      ok: false,
      code: ErrorCode.PAYLOAD_TOO_LARGE,
    });
    expect(server.traffic.relayed.signal).toBeGreaterThan(0);
  });

  it('serves /health and /api/stats', async () => {
    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health).toMatchObject({ ok: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const hash = infoHash();
    const a = await peer();
    await announce(a.socket, hash, 0);
    const stats = await (await fetch(`${server.url}/api/stats`)).json();
    expect(stats.peers).toBe(1);
    // Everyone sees how many swarms there are, not which: the admin sees each one's counts.
    expect(stats.swarms).toBe(1);
    expect(stats.perSwarm).toBeUndefined();
    const admin = await adminStats(server.url);
    expect(admin.perSwarm).toEqual({ [swarmPrefix(hash)]: { complete: 1, incomplete: 0, downloaded: 0 } });
  });
});
