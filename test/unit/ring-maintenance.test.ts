import { type RingMessage, RingNode } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';

const STABILIZE_MS = 30_000;
const NEVER = 1e12;

/** Node 10 (m = 8) with only stabilization on its timers; `random` is fixed at 0.75. */
function stabilizingNode(clock: FakeClock) {
  const sent: { at: number; to: bigint; msg: RingMessage }[] = [];
  const node = new RingNode(
    { id: 10n, send: (to, msg) => sent.push({ at: clock.now(), to, msg }), clock, random: () => 0.75 },
    {
      bits: 8,
      successors: 2,
      stabilizeIntervalMs: STABILIZE_MS,
      fixFingersIntervalMs: NEVER,
      checkPredecessorIntervalMs: NEVER,
      pingSuccessorsIntervalMs: NEVER,
    },
  );
  node.restore({ predecessor: 200n, successors: [100n, 200n], fingers: [] });
  /** Times at which get-state went out; each is answered at once by 100. */
  const asks: number[] = [];
  const answer = () => {
    for (const s of sent.splice(0)) {
      if (s.msg.type !== 'get-state') continue;
      asks.push(s.at);
      node.handle(s.to, { type: 'state', rid: s.msg.rid, predecessor: 10n, successors: [200n] });
    }
  };
  return { node, asks, answer };
}

describe('RingMaintenance on a fake clock', () => {
  it('runs first at a random phase, then every interval * (1 - 0.25 + 0.5 * random)', () => {
    const clock = new FakeClock(0);
    const { asks, answer } = stabilizingNode(clock);
    // Phase: 30 s * 0.75. Then 30 s * (0.75 + 0.5 * 0.75) = 33.75 s apart.
    clock.advance(22_499);
    answer();
    expect(asks).toEqual([]);
    clock.advance(1);
    answer();
    clock.advance(33_750);
    answer();
    clock.advance(33_749);
    answer();
    expect(asks).toEqual([22_500, 56_250]);
    clock.advance(1);
    answer();
    expect(asks).toEqual([22_500, 56_250, 90_000]);
  });

  it('stopMaintenance() and destroy() leave no timer behind', () => {
    const clock = new FakeClock(0);
    const { node } = stabilizingNode(clock);
    expect(clock.pending).toBe(4); // one per task
    node.stopMaintenance();
    expect(clock.pending).toBe(0);
    node.startMaintenance();
    node.runMaintenance('stabilize'); // a get-state now waits for its answer
    expect(clock.pending).toBe(5);
    let closes = 0;
    node.on('close', () => closes++);
    node.destroy();
    node.destroy();
    expect(closes).toBe(1);
    expect(clock.pending).toBe(0);
  });
});
