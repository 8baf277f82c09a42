import { createHmac } from 'node:crypto';
import { ErrorCode, randomIdentity, TrackerClient } from '@ringswarm/shared';
import { ICE_ADDRESS_BURST, ICE_SOCKET_BURST, type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { emit, SocketPool } from '../helpers/tracker-socket.js';

const SECRET = 'shared-with-coturn';
const TURN = {
  stunUrls: ['stun:turn.example.org:3478'],
  turnUrls: ['turn:turn.example.org:3478?transport=udp', 'turn:turn.example.org:3478?transport=tcp'],
  turnSecret: SECRET,
};

describe('ICE servers: STUN over HTTP, TURN only over the socket', () => {
  let server: RunningServer | undefined;
  let pool: SocketPool | undefined;
  let clock = 1_800_000_000_000;

  afterEach(async () => {
    pool?.closeAll();
    pool = undefined;
    await server?.close();
    server = undefined;
  });

  const start = async (overrides: Parameters<typeof startServer>[0]) => {
    clock = 1_800_000_000_000;
    server = await startServer(
      { port: 0, host: '127.0.0.1', ...overrides },
      { logger: pino({ level: 'silent' }), now: () => clock },
    );
    pool = new SocketPool(server.url, () => clock);
    return server;
  };

  it('GET /api/ice answers STUN entries only, never a TURN credential, with a TURN secret set', async () => {
    const s = await start(TURN);
    const peer = 'c0'.repeat(20);
    for (const path of ['/api/ice', `/api/ice?peer=${peer}`]) {
      const res = await fetch(`${s.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ iceServers: [{ urls: ['stun:turn.example.org:3478'] }], ttl: 0 });
      for (const leak of ['turn:', 'username', 'credential', SECRET]) expect(text).not.toContain(leak);
    }
  });

  it('answers an empty list when no STUN/TURN is configured, over HTTP and over the socket', async () => {
    const s = await start({});
    const res = await fetch(`${s.url}/api/ice`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ iceServers: [], ttl: 0 });
    const { socket } = await pool!.peer();
    expect(await emit(socket, 'ice', {})).toEqual({ ok: true, iceServers: [], ttl: 0 });
  });

  it('the socket `ice` event hands TURN credentials labelled with the peer ID, valid 600 s by default', async () => {
    await start(TURN);
    const { id, socket } = await pool!.peer();
    const res = await emit(socket, 'ice', {});
    const username = `${1_800_000_000 + 600}:${id}`;
    expect(res).toEqual({
      ok: true,
      iceServers: [
        { urls: ['stun:turn.example.org:3478'] },
        {
          urls: TURN.turnUrls,
          username,
          credential: createHmac('sha1', SECRET).update(username).digest('base64'),
        },
      ],
      ttl: 600,
    });
    expect(JSON.stringify(res)).not.toContain(SECRET);
    // The payload is checked like any other.
    expect(await emit(socket, 'ice', { peer: 'ab'.repeat(20) })).toMatchObject({
      ok: false,
      code: ErrorCode.INVALID_PAYLOAD,
    });
  });

  it('TrackerClient.ice() gets them for its own peer ID; --turn-ttl sets the lifetime', async () => {
    const s = await start({ ...TURN, turnTtlS: 120 });
    const identity = randomIdentity();
    const peerId = identity.peerId;
    const client = new TrackerClient(s.url, identity, { now: () => clock });
    try {
      await new Promise<void>((resolve) => client.once('connect', resolve));
      const answer = await client.ice();
      expect(answer.ttl).toBe(120);
      expect(answer.iceServers[1]?.username).toBe(`${1_800_000_000 + 120}:${peerId}`);
    } finally {
      client.destroy();
    }
  });

  it('limits `ice` per socket, and per IP address across sockets', async () => {
    await start(TURN);
    const first = await pool!.peer();
    for (let i = 0; i < ICE_SOCKET_BURST; i++) expect(await emit(first.socket, 'ice', {})).toMatchObject({ ok: true });
    expect(await emit(first.socket, 'ice', {})).toMatchObject({ ok: false, code: ErrorCode.RATE_LIMITED });
    // A refill of one a minute: a renewal every few minutes always gets through.
    clock += 60_000;
    expect(await emit(first.socket, 'ice', {})).toMatchObject({ ok: true });
    expect(await emit(first.socket, 'ice', {})).toMatchObject({ ok: false, code: ErrorCode.RATE_LIMITED });
    expect(first.socket.connected).toBe(true);

    // Fresh sockets from one address share its budget, full again after that minute; the
    // first socket has spent one of it since.
    let granted = 1;
    let refused = 0;
    for (let sockets = 0; sockets < 20 && refused === 0; sockets++) {
      const { socket } = await pool!.peer();
      for (let i = 0; i < ICE_SOCKET_BURST; i++) {
        const res = await emit(socket, 'ice', {});
        if (res.ok) granted++;
        else {
          expect(res.code).toBe(ErrorCode.RATE_LIMITED);
          refused++;
        }
      }
    }
    expect(granted).toBe(ICE_ADDRESS_BURST);
    expect(refused).toBeGreaterThan(0);
  });
});
