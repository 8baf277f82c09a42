import {
  createPeerLink,
  type LinkEntry,
  LinkPool,
  randomIdentity,
  SignalingRouter,
  systemClock,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { randomPeerId } from '../helpers/tracker-socket.js';
import { until } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

describe('the connection budget', () => {
  let pool: LinkPool;
  let router: SignalingRouter;
  afterEach(() => {
    router.destroy();
    pool.destroy();
  });

  it('keeps ring pointers, evicts idle links first, and swarm links only for the ring', async () => {
    const pointer = randomPeerId();
    const signalled: string[] = [];
    const identity = randomIdentity();
    const peerId = identity.peerId;
    pool = new LinkPool(
      {
        peerId,
        clock: systemClock,
        createLink: createPeerLink,
        linkOptions: { wrtc },
        isPointer: (id) => id === pointer,
        swarmFor: () => null,
        ringMember: true,
      },
      3,
    );
    // No ring here: every signal goes through the (stand-in) tracker.
    router = new SignalingRouter({
      identity,
      clock: systemClock,
      links: pool,
      tracker: {
        connected: true,
        signal: (to) => {
          signalled.push(to);
        },
      },
    });
    const closes: [string, string | undefined][] = [];
    pool.on('link-close', (id, code) => closes.push([id, code]));
    const open = (id: string, forRing: boolean): LinkEntry | null => router.open(id, forRing);

    const [idle, swarmA, swarmB, late] = [randomPeerId(), randomPeerId(), randomPeerId(), randomPeerId()];
    expect(open(pointer, true)).not.toBeNull();
    expect(open(idle, false)).not.toBeNull();
    const a = open(swarmA, false)!;
    expect(pool.size).toBe(3);
    pool.attach(a, 'aa'.repeat(32), () => {});

    // Full: a swarm peer takes the idle link's slot.
    const b = open(swarmB, false)!;
    expect(b).not.toBeNull();
    pool.attach(b, 'bb'.repeat(32), () => {});
    expect(closes).toEqual([[idle, 'ERR_TOO_MANY_LINKS']]);
    expect(pool.size).toBe(3);

    // Full of a pointer and swarm links: another swarm peer is refused...
    expect(open(late, false)).toBeNull();
    // ...but the ring may take the oldest swarm link's slot; the pointer always stays.
    expect(open(late, true)).not.toBeNull();
    expect(closes[1]).toEqual([swarmA, 'ERR_TOO_MANY_LINKS']);
    expect(pool.get(pointer)).toBeDefined();
    expect(pool.size).toBe(3);
    // A kept link still signals (through the tracker: the ring is not ready here).
    await until(() => signalled.includes(pointer), 5_000, 'the pointer link to send its offer');
  });
});
