/**
 * The cluster twin (issue 17): with two tracker instances on one real Redis, an ID connected
 * to one instance used to be accepted on the other at the same time, so a squatter there got
 * the victim's signals. Now a claim elsewhere needs the ID's key; a proven one is the owner
 * moving (it takes the ID over atomically and its old socket is closed through the adapter).
 */
import { ErrorCode, randomIdentity } from '@ringswarm/shared';
import type { Socket } from 'socket.io-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisProcess } from '../helpers/redis-server.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { signedAuth } from '../helpers/signed-auth.js';
import { announce, emit, randomInfoHash, SocketPool } from '../helpers/tracker-socket.js';

const nextSignal = (socket: Socket, ms = 10_000) =>
  new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no signal arrived')), ms);
    socket.once('signal', (msg: unknown) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });

describe('a peer ID twin across a cluster (real Redis)', () => {
  let redis: RedisProcess;
  let servers: ServerProcess[] = [];
  const pools: SocketPool[] = [];

  beforeEach(async () => {
    redis = new RedisProcess();
    await redis.start();
    servers = await Promise.all([0, 1].map(() => startServerProcess(['--redis-url', redis.url])));
  });

  afterEach(async () => {
    for (const p of pools.splice(0)) p.closeAll();
    try {
      await Promise.all(servers.map((s) => s.stop()));
    } finally {
      await redis.stop();
    }
  });

  const poolOn = (server: ServerProcess) => {
    const p = new SocketPool(server.url);
    pools.push(p);
    return p;
  };

  it('refuses a twin without the key on the other instance; the owner moving there closes its old socket', async () => {
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const onA = poolOn(a);
    const onB = poolOn(b);
    const victim = randomIdentity();
    const hash = randomInfoHash();
    const v = await onA.peer(victim);
    const friend = await onB.peer();
    expect(await announce(v.socket, hash, 0)).toMatchObject({ ok: true });
    expect(await announce(friend.socket, hash, null)).toMatchObject({ ok: true, peers: [victim.peerId] });

    // The twin on instance B: its own valid proof with the victim's ID, then the old protocol's claim.
    const squatter = randomIdentity();
    expect((await onB.refused({ ...(await signedAuth(squatter)), peerId: victim.peerId })).code).toBe(
      ErrorCode.BAD_PROOF,
    );
    expect((await onB.refused({ peerId: victim.peerId, version: 1 })).code).toBe(ErrorCode.INVALID_HANDSHAKE);
    // The victim, still on A, still gets the friend's signals.
    const got = nextSignal(v.socket);
    expect(await emit(friend.socket, 'signal', { to: victim.peerId, data: { n: 1 } })).toEqual({ ok: true });
    expect(await got).toEqual({ from: friend.id, data: { n: 1 } });

    // The owner itself proves the key on B: it takes the ID over, its socket on A is closed.
    const closed = new Promise<string>((resolve) => v.socket.once('disconnect', resolve));
    const moved = await onB.peer(victim);
    expect(await closed).toBe('io server disconnect');
    expect(await announce(moved.socket, hash, 0)).toMatchObject({ ok: true });
    const again = nextSignal(moved.socket);
    expect(await emit(friend.socket, 'signal', { to: victim.peerId, data: { n: 2 } })).toEqual({ ok: true });
    expect(await again).toEqual({ from: friend.id, data: { n: 2 } });
    // A's late disconnect did not release the peer that B owns now: the swarm still has it.
    expect(await announce(friend.socket, hash, null, 'update')).toMatchObject({ ok: true, peers: [victim.peerId] });
  });
});
