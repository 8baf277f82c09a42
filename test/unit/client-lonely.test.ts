/**
 * RingswarmClient when the one connection a download waits on never opens: it asks the
 * tracker again within LONELY_ANNOUNCE_MS, not at the tracker's interval, and dials the peer
 * again. Injected edges only.
 */
import { ErrorCode, LONELY_ANNOUNCE_MS, RingswarmClient } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeLinkFactory } from '../helpers/fake-peer-link.js';
import { FakeTrackerSockets } from '../helpers/fake-tracker-socket.js';
import { nextMacrotask } from '../helpers/until.js';

const INFO_HASH = 'ab'.repeat(32);
const SEEDER = '5e'.repeat(20);
const INTERVAL_S = 120;

describe('a download whose only connection fails', () => {
  const clients: RingswarmClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  function start() {
    const clock = new FakeClock();
    const sockets = new FakeTrackerSockets((event) =>
      event === 'announce'
        ? { ok: true, peers: [SEEDER], complete: 1, incomplete: 1, interval: INTERVAL_S }
        : { ok: true },
    );
    const links = new FakeLinkFactory();
    const client = new RingswarmClient({
      trackerUrl: 'http://tracker.test',
      ring: false,
      clock,
      random: () => 0.5,
      createLink: links.create,
      createTrackerSocket: sockets.create,
    });
    clients.push(client);
    client.on('warning', () => {});
    sockets.last.fire('connect');
    client.download(INFO_HASH);
    const announces = () => sockets.last.emitted.filter((e) => e.event === 'announce').length;
    return { clock, links, announces };
  }

  it('announces again within LONELY_ANNOUNCE_MS and dials the peer again', async () => {
    const { clock, links, announces } = start();
    await nextMacrotask();
    expect(announces()).toBe(1);
    const first = links.last(SEEDER);
    first.close(ErrorCode.NO_ROUTE);
    clock.advance(LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(announces()).toBe(2);
    expect(links.last(SEEDER)).not.toBe(first);
  });

  it('waits for the interval while the peer is only connecting', async () => {
    const { clock, links, announces } = start();
    await nextMacrotask();
    links.last(SEEDER);
    clock.advance(LONELY_ANNOUNCE_MS * 3);
    await nextMacrotask();
    expect(announces()).toBe(1);
  });
});
