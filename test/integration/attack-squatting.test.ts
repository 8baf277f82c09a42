/**
 * Squatting a peer ID at the tracker (issue 17). Before, an ID was only a name: the moment a
 * peer's socket dropped anyone could take its ID, receive its signals and keep it from
 * reconnecting, and its own reconnect was refused while its stale socket lived. Now the
 * handshake proves the ID's key: nobody else can take it, ever, and a proven reconnect
 * replaces the owner's stale socket. Also: the limit on new IDs per source address.
 */
import { ErrorCode, type PeerIdentity, randomIdentity } from '@ringswarm/shared';
import { type RunningServer, type ServerConfig, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { signedAuth } from '../helpers/signed-auth.js';
import { announce, emit, randomInfoHash, SocketPool } from '../helpers/tracker-socket.js';

const nextSignal = (socket: Socket, ms = 5_000) =>
  new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no signal arrived')), ms);
    socket.once('signal', (msg: unknown) => {
      clearTimeout(timer);
      resolve(msg);
    });
  });

const closedByServer = (socket: Socket, ms = 5_000) =>
  new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the socket stayed open')), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });

describe('peer ID squatting at the tracker', () => {
  let server: RunningServer | undefined;
  let pool: SocketPool;

  async function start(config: Partial<ServerConfig> = {}) {
    server = await startServer({ port: 0, host: '127.0.0.1', ...config }, { logger: pino({ level: 'silent' }) });
    pool = new SocketPool(server.url);
    return server;
  }

  afterEach(async () => {
    pool?.closeAll();
    await server?.close();
    server = undefined;
  });

  /** Two peers in one swarm (so the tracker relays between them). */
  async function pair(victim: PeerIdentity) {
    const hash = randomInfoHash();
    const v = await pool.peer(victim);
    const friend = await pool.peer();
    expect(await announce(v.socket, hash, 0)).toMatchObject({ ok: true });
    expect(await announce(friend.socket, hash, null)).toMatchObject({ ok: true, peers: [victim.peerId] });
    return { hash, v, friend };
  }

  it("refuses another key's claim on an ID after its socket dropped; the owner comes back and gets its signals", async () => {
    await start();
    const victim = randomIdentity();
    const { hash, v, friend } = await pair(victim);
    // A proof the victim sent: whoever captured it cannot replay it.
    const captured = await signedAuth(victim);
    v.socket.disconnect();
    await expect.poll(() => server!.io.of('/').sockets.size).toBe(1);

    const attacker = randomIdentity();
    // Its own valid proof, with the victim's ID in it.
    expect((await pool.refused({ ...(await signedAuth(attacker)), peerId: victim.peerId })).code).toBe(
      ErrorCode.BAD_PROOF,
    );
    // The victim's key, claimed without its signature.
    const forged = { ...(await signedAuth(attacker)), peerId: victim.peerId, publicKey: captured.publicKey };
    expect((await pool.refused(forged)).code).toBe(ErrorCode.BAD_PROOF);
    // An unsigned claim as the old protocol took it.
    expect((await pool.refused({ peerId: victim.peerId, version: captured.version })).code).toBe(
      ErrorCode.INVALID_HANDSHAKE,
    );
    // A proof the victim signed, used once already, replayed.
    const first = pool.open(captured);
    await new Promise<void>((resolve, reject) => {
      first.once('connect', resolve);
      first.once('connect_error', reject);
    });
    first.disconnect();
    await expect.poll(() => server!.io.of('/').sockets.size).toBe(1);
    expect((await pool.refused(captured)).code).toBe(ErrorCode.BAD_PROOF);

    // Its owner reconnects and is back in the swarm, and the friend's signals reach it.
    const back = await pool.peer(victim);
    expect(await announce(back.socket, hash, 0)).toMatchObject({ ok: true });
    const got = nextSignal(back.socket);
    expect(await emit(friend.socket, 'signal', { to: victim.peerId, data: { type: 'offer', sdp: 'v=0' } })).toEqual({
      ok: true,
    });
    expect(await got).toEqual({ from: friend.id, data: { type: 'offer', sdp: 'v=0' } });
  });

  it('lets a proven reconnect replace the owner’s stale socket, which is closed', async () => {
    await start();
    const victim = randomIdentity();
    const { hash, v, friend } = await pair(victim);
    const closed = closedByServer(v.socket);
    // The same key, a fresh proof, while the old socket still looks alive to the server.
    const again = await pool.peer(victim);
    expect(await closed).toBe('io server disconnect');
    expect(server!.io.of('/').sockets.size).toBe(2);
    // The peer's swarm membership survived the swap: its friend still finds it.
    expect(await announce(friend.socket, hash, null, 'update')).toMatchObject({ ok: true, peers: [victim.peerId] });
    const got = nextSignal(again.socket);
    expect(await emit(friend.socket, 'signal', { to: victim.peerId, data: { type: 'answer' } })).toEqual({ ok: true });
    expect(await got).toEqual({ from: friend.id, data: { type: 'answer' } });
    expect(server!.traffic.errors[ErrorCode.DUPLICATE_PEER_ID]).toBe(1);
  });

  it('refuses more new peer IDs per address than --max-ids-per-ip, loopback included', async () => {
    await start({ maxIdsPerIp: 3 });
    const peers = [await pool.peer(), await pool.peer(), await pool.peer()];
    const fourth = randomIdentity();
    expect((await pool.refused(await signedAuth(fourth))).code).toBe(ErrorCode.RATE_LIMITED);
    // An ID it already brought is not new: it reconnects.
    peers[0]!.socket.disconnect();
    await expect.poll(() => server!.io.of('/').sockets.size).toBe(2);
    await pool.peer(peers[0]!.identity);
    expect(server!.io.of('/').sockets.size).toBe(3);
    expect((await pool.refused(await signedAuth(fourth))).code).toBe(ErrorCode.RATE_LIMITED);
  });
});
