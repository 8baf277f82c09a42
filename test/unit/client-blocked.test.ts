/**
 * RingswarmClient when the tracker's operator blocked a share: the tracker answers the
 * announce with ERR_BLOCKED, the client says `blocked` once and announces that swarm no more
 * (not on a timer, not after a reconnect, not `stopped` at the end). Injected edges only.
 */
import { discoveryKeyOf, ErrorCode, LONELY_ANNOUNCE_MS, RingswarmClient } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeLinkFactory } from '../helpers/fake-peer-link.js';
import { FakeTrackerSockets } from '../helpers/fake-tracker-socket.js';
import { nextMacrotask } from '../helpers/until.js';

const BLOCKED_HASH = 'cd'.repeat(32);
const OTHER_HASH = 'ce'.repeat(32);
const BLOCKED_KEY = discoveryKeyOf(BLOCKED_HASH);

describe('a share the tracker blocks', () => {
  const clients: RingswarmClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  it('is told once as `blocked`, then never announced again; other swarms go on', async () => {
    const clock = new FakeClock();
    const sockets = new FakeTrackerSockets((event, payload) => {
      if (event !== 'announce') return { ok: true };
      const dk = (payload as { discoveryKey: string }).discoveryKey;
      return dk === BLOCKED_KEY
        ? { ok: false, code: ErrorCode.BLOCKED, message: 'blocked by the operator' }
        : { ok: true, peers: [], complete: 0, incomplete: 1, interval: 120 };
    });
    const client = new RingswarmClient({
      trackerUrl: 'http://tracker.test',
      ring: false,
      clock,
      random: () => 0.5,
      createLink: new FakeLinkFactory().create,
      createTrackerSocket: sockets.create,
    });
    clients.push(client);
    const blocked: string[] = [];
    const warnings: Error[] = [];
    client.on('blocked', (infoHash) => blocked.push(infoHash));
    client.on('warning', (err) => warnings.push(err));
    sockets.last.fire('connect');
    client.download(BLOCKED_HASH);
    const other = client.download(OTHER_HASH);
    await nextMacrotask();
    expect(blocked).toEqual([BLOCKED_HASH]);
    expect(warnings).toEqual([]);

    const announcesOf = (dk: string) =>
      sockets.last.emitted.filter(
        (e) => e.event === 'announce' && (e.payload as { discoveryKey: string }).discoveryKey === dk,
      );
    // Lonely downloads announce again every LONELY_ANNOUNCE_MS, the blocked one no more.
    for (let i = 0; i < 5; i++) {
      clock.advance(LONELY_ANNOUNCE_MS);
      await nextMacrotask();
    }
    sockets.last.fire('connect');
    await nextMacrotask();
    client.remove(BLOCKED_HASH);
    await nextMacrotask();
    expect(announcesOf(BLOCKED_KEY)).toHaveLength(1);
    expect(announcesOf(other.discoveryKey).length).toBeGreaterThan(5);
    expect(blocked).toEqual([BLOCKED_HASH]);
  });
});
