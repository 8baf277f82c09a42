/**
 * When the overlay puts its own records again after the ring around it changed: once the
 * ring has been quiet for a moment, and at the latest a bounded time after the first change,
 * however often it keeps changing (one-off searches joining and leaving next to a seeder).
 */
import {
  encodeRingFrame,
  encodeRingMessage,
  OVERLAY_REPUBLISH_MAX_WAIT_MS,
  OVERLAY_REPUBLISH_SETTLE_MS,
  Overlay,
  type RingMessage,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { drainImmediates, FakeClock } from '../helpers/fake-clock.js';
import { randomPeerId } from '../helpers/tracker-socket.js';

describe('Overlay republish after ring changes', () => {
  const overlays: Overlay[] = [];
  afterEach(() => {
    for (const o of overlays.splice(0)) o.destroy();
  });

  /** A lone overlay that created its ring, and a neighbour X that joined it. */
  async function lonelyRing() {
    const clock = new FakeClock();
    const overlay = new Overlay({
      peerId: randomPeerId(),
      clock,
      random: () => 0.5,
      transport: { send: () => true, isOpen: () => true, linked: () => [], connect: () => {}, drop: () => {} },
      bootstrap: async () => [],
    });
    overlays.push(overlay);
    overlay.start();
    await drainImmediates();
    expect(overlay.joined).toBe(true);
    const deliver = (from: string, msg: RingMessage) =>
      overlay.handleFrame(from, encodeRingFrame(encodeRingMessage(overlay.space, msg)));
    deliver(randomPeerId(), { type: 'join', rid: 1 });
    // X never answers: with maintenance running it would be taken for dead after a timeout and
    // its notices ignored. The only ring changes here are the test's own.
    overlay.node.stopMaintenance();
    const republish = vi.spyOn(overlay.dht, 'republishAll');
    /** Our successor's list changes (a new node behind it): so does ours. */
    const change = () =>
      deliver(overlay.space.toHex(overlay.node.successors[0]!), {
        type: 'successors',
        successors: [overlay.space.fromHex(randomPeerId())],
      });
    return { clock, republish, change };
  }

  it('republishes once the ring has been quiet for the settle time', async () => {
    const { clock, republish, change } = await lonelyRing();
    change();
    clock.advance(OVERLAY_REPUBLISH_SETTLE_MS - 1);
    expect(republish).not.toHaveBeenCalled();
    clock.advance(1);
    expect(republish).toHaveBeenCalledTimes(1);
  });

  it('republishes within the maximum wait while the ring keeps changing every second', async () => {
    const { clock, republish, change } = await lonelyRing();
    const calls: number[] = [];
    republish.mockImplementation(() => calls.push(clock.now()));
    const start = clock.now();
    for (let s = 0; s < 20; s++) {
      change();
      clock.advance(1_000);
    }
    // Without the bound, each change put the republish off again and it never came.
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls[0]! - start).toBeLessThanOrEqual(OVERLAY_REPUBLISH_MAX_WAIT_MS);
    for (let i = 1; i < calls.length; i++)
      expect(calls[i]! - calls[i - 1]!).toBeLessThanOrEqual(OVERLAY_REPUBLISH_MAX_WAIT_MS + 1_000);
  });
});
