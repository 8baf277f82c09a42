/**
 * TrackerClient's reconnects: the backoff's bounds, moving past a dead URL, coming back to
 * a single URL once its server is up again, and silence after destroy.
 */
import { backoffDelayMs, randomIdentity, TrackerClient } from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server.js';
import { randomInfoHash } from '../helpers/tracker-socket.js';
import { waitFor } from '../helpers/until.js';

const silent = pino({ level: 'silent' });
const FAST = { reconnectBaseMs: 20, reconnectMaxMs: 200 };

describe('tracker client reconnects', () => {
  const servers: RunningServer[] = [];
  const clients: TrackerClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const serve = async (port = 0) => {
    const s = await startServer({ port, host: '127.0.0.1' }, { logger: silent });
    servers.push(s);
    return s;
  };
  const tracker = (urls: string | string[]) => {
    const c = new TrackerClient(urls, randomIdentity(), FAST);
    clients.push(c);
    return c;
  };

  it('backs off exponentially, capped, with jitter, never below the base', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const d = backoffDelayMs(n, () => r, 250, 10_000);
        expect(d).toBeGreaterThanOrEqual(250);
        expect(d).toBeLessThanOrEqual(Math.max(250, Math.min(10_000, 250 * 2 ** n)));
      }),
    );
    expect(backoffDelayMs(3, () => 0.999_999, 250, 10_000)).toBe(2_000);
    expect(backoffDelayMs(30, () => 0.999_999, 250, 10_000)).toBe(10_000);
    // Jitter: two clients at the same attempt do not retry in lockstep.
    expect(backoffDelayMs(5, () => 0.2, 250, 10_000)).not.toBe(backoffDelayMs(5, () => 0.7, 250, 10_000));
  });

  it('moves past a URL where nothing listens to the next one, and announces there', async () => {
    const live = await serve();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = tracker([dead, live.url]);
    await waitFor(c, 'connect', 10_000);
    expect(c.url).toBe(live.url);
    expect(c.connected).toBe(true);
    expect(
      await c.announce({
        discoveryKey: randomInfoHash(),
        event: 'started',
        left: 0,
        uploaded: 0,
        downloaded: 0,
        numwant: 5,
      }),
    ).toMatchObject({
      complete: 1,
    });
  });

  it('with a single URL, reconnects once its server is back', async () => {
    const first = await serve();
    const c = tracker(first.url);
    await waitFor(c, 'connect', 10_000);
    const lost = waitFor(c, 'disconnect', 10_000);
    await first.close();
    await lost;
    expect(c.connected).toBe(false);
    const again = waitFor(c, 'connect', 20_000);
    await serve(first.port);
    await again;
    expect(c.url).toBe(first.url);
    expect(c.connected).toBe(true);
  });

  it('stops retrying after destroy: the next URL never sees a connection', async () => {
    const live = await serve();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = new TrackerClient([dead, live.url], randomIdentity(), FAST);
    c.destroy();
    c.destroy();
    await new Promise((r) => setTimeout(r, 500));
    expect(live.io.engine.clientsCount).toBe(0);
    await expect(
      c.announce({ discoveryKey: randomInfoHash(), event: 'started', left: 0, uploaded: 0, downloaded: 0, numwant: 5 }),
    ).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    // The same list without destroy does get there: the check above can fail.
    const control = tracker([dead, live.url]);
    await waitFor(control, 'connect', 10_000);
    expect(live.io.engine.clientsCount).toBe(1);
  });
});
