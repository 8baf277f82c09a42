import { ErrorCode, PROTOCOL_VERSION } from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announce, emit, randomInfoHash, SocketPool } from '../helpers/tracker-socket.js';

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));
const EVENTS = ['announce', 'scrape', 'signal', 'ring:bootstrap'] as const;

const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
/** A value that is almost right: the right shape with one field broken, or anything at all. */
const field = fc.oneof(
  fc.anything(),
  fc.string({ maxLength: 300 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, undefined, -1, 2 ** 53, Number.NaN, '', [], {}),
  hex(40),
  hex(64),
);
const announceLike = fc.record(
  {
    discoveryKey: fc.oneof(hex(64), field),
    event: fc.oneof(fc.constantFrom('started', 'update', 'completed', 'stopped'), field),
    left: fc.oneof(fc.nat(), fc.constant(null), field),
    uploaded: fc.oneof(fc.nat(), field),
    downloaded: fc.oneof(fc.nat(), field),
    numwant: fc.oneof(fc.nat({ max: 2000 }), field),
    extra: field,
  },
  { requiredKeys: [] },
);
const payload = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  announceLike,
  fc.record(
    { discoveryKeys: fc.oneof(fc.array(fc.oneof(hex(64), field), { maxLength: 120 }), field) },
    { requiredKeys: [] },
  ),
  fc.record(
    { to: fc.oneof(hex(40), field), data: fc.oneof(fc.dictionary(fc.string(), field), field) },
    { requiredKeys: [] },
  ),
  fc.record({ k: fc.oneof(fc.integer({ min: -5, max: 40 }), field) }, { requiredKeys: [] }),
  fc.string({ minLength: 1000, maxLength: 20_000 }),
);

/**
 * Handshakes with every field of any type, right-length hex among them: none carries a
 * signature by the key its peer ID hashes from, so every one is refused.
 */
const validLooking = fc.record(
  {
    peerId: fc.oneof(hex(40), field),
    version: fc.oneof(fc.constant(PROTOCOL_VERSION), field),
    publicKey: fc.oneof(hex(64), field),
    ts: fc.oneof(fc.constant(Date.now()), field),
    nonce: fc.oneof(hex(32), field),
    signature: fc.oneof(hex(128), field),
  },
  { requiredKeys: [] },
);

describe('tracker under hostile input (fast-check)', () => {
  let server: RunningServer;
  let pool: SocketPool;

  beforeAll(async () => {
    // Generous rate limits (per socket and per signal target): this suite is about malformed
    // input; floods are tested elsewhere.
    server = await startServer(
      { port: 0, host: '127.0.0.1', rateLimitPerS: 100_000, rateBurst: 100_000 },
      { logger: pino({ level: 'silent' }), signalLimit: { perTargetPerS: 100_000, targetBurst: 100_000 } },
    );
    pool = new SocketPool(server.url);
  });

  afterAll(async () => {
    pool.closeAll();
    await server.close();
  });

  it('answers every malformed event with a known error code and keeps serving a good client', async () => {
    const hostile = await pool.peer();
    const good = await pool.peer();
    const partner = await pool.peer();
    const swarm = randomInfoHash();
    await announce(partner.socket, swarm, 0);
    let goodCalls = 0;
    let signalsSeen = 0;
    partner.socket.on('signal', () => signalsSeen++);

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...EVENTS, 'nonsense', '__proto__', 'constructor'),
        payload,
        async (event, p) => {
          const res = await emit(hostile.socket, event, p);
          if (!res.ok) expect(KNOWN_CODES.has(res.code)).toBe(true);
          expect(hostile.socket.connected).toBe(true);
          // Meanwhile the well-behaved peer's announce and signal go through.
          expect(await announce(good.socket, swarm, 100, 'update')).toMatchObject({ ok: true });
          expect(await emit(good.socket, 'signal', { to: partner.id, data: { type: 'candidate' } })).toEqual({
            ok: true,
          });
          goodCalls++;
        },
      ),
      { numRuns: 300 },
    );
    await expect.poll(() => signalsSeen).toBe(goodCalls);
    expect(goodCalls).toBe(300);
  });

  it('survives garbage handshakes and odd argument lists', async () => {
    await fc.assert(
      // socket.io clients send `auth` as an object; anything inside it goes.
      fc.asyncProperty(fc.oneof(fc.object({ maxDepth: 2 }), validLooking), async (auth) => {
        const { code } = await pool.refused(auth);
        expect([ErrorCode.INVALID_HANDSHAKE, ErrorCode.VERSION_MISMATCH, ErrorCode.BAD_PROOF]).toContain(code);
      }),
      { numRuns: 50 },
    );
    const { socket } = await pool.peer();
    const raw = socket as Socket & { emit: (...args: unknown[]) => Socket };
    raw.emit('announce');
    raw.emit('announce', 1, 2, 3);
    raw.emit(42 as unknown as string, {});
    expect(await emit(socket, 'scrape', { discoveryKeys: [randomInfoHash()] })).toMatchObject({ ok: true });
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
  });
});
