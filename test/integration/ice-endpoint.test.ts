import { createHmac } from 'node:crypto';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';

const SECRET = 'shared-with-coturn';

describe('GET /api/ice', () => {
  let server: RunningServer | undefined;

  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (overrides: Parameters<typeof startServer>[0], nowS = 1_800_000_000) => {
    server = await startServer(
      { port: 0, host: '127.0.0.1', ...overrides },
      { logger: pino({ level: 'silent' }), now: () => nowS * 1000 },
    );
    return server;
  };

  it('hands out STUN and TURN with fresh REST API credentials, never cached', async () => {
    const s = await start({
      stunUrls: ['stun:turn.example.org:3478'],
      turnUrls: ['turn:turn.example.org:3478?transport=udp', 'turn:turn.example.org:3478?transport=tcp'],
      turnSecret: SECRET,
      turnTtlS: 600,
    });
    const peer = 'c0'.repeat(20);
    const res = await fetch(`${s.url}/api/ice?peer=${peer}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.json();
    const username = `${1_800_000_600}:${peer}`;
    expect(body).toEqual({
      iceServers: [
        { urls: ['stun:turn.example.org:3478'] },
        {
          urls: ['turn:turn.example.org:3478?transport=udp', 'turn:turn.example.org:3478?transport=tcp'],
          username,
          credential: createHmac('sha1', SECRET).update(username).digest('base64'),
        },
      ],
      ttl: 600,
    });
    // The secret itself never leaves the server.
    expect(JSON.stringify(body)).not.toContain(SECRET);
    // Without a valid peer ID the label is random, so two answers differ.
    const [a, b] = await Promise.all([1, 2].map(async () => (await fetch(`${s.url}/api/ice?peer=x`)).json()));
    expect(a.iceServers[1].username).toMatch(/^1800000600:[0-9a-f]{16}$/);
    expect(a.iceServers[1].username).not.toBe(b.iceServers[1].username);
  });

  it('answers an empty list when no STUN/TURN is configured', async () => {
    const s = await start({});
    const res = await fetch(`${s.url}/api/ice`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ iceServers: [], ttl: 0 });
  });
});
