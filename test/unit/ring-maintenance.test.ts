import { RING_WATCH_GRACE_MS, type RingMessage, RingNode } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';

const STABILIZE_MS = 30_000;
const NEVER = 1e12;

/**
 * Node 10 (m = 8; predecessor 200, successors 100 and 200) with only stabilization on its
 * timers, every `intervalMs`, stretched up to `backoff` times when nothing changes; `random`
 * is fixed (0.75 by default).
 */
function stabilizingNode(clock: FakeClock, { intervalMs = STABILIZE_MS, random = 0.75, backoff = 1 } = {}) {
  const sent: { at: number; to: bigint; msg: RingMessage }[] = [];
  const node = new RingNode(
    { id: 10n, send: (to, msg) => sent.push({ at: clock.now(), to, msg }), clock, random: () => random },
    {
      bits: 8,
      successors: 2,
      stabilizeIntervalMs: intervalMs,
      fixFingersIntervalMs: NEVER,
      checkPredecessorIntervalMs: NEVER,
      pingSuccessorsIntervalMs: NEVER,
      maintenanceBackoff: backoff,
    },
  );
  node.restore({ predecessor: 200n, successors: [100n, 200n], fingers: [] });
  /** Times at which get-state went out; each is answered at once by 100, with nothing new. */
  const asks: number[] = [];
  const answer = () => {
    for (const s of sent.splice(0)) {
      if (s.msg.type !== 'get-state') continue;
      asks.push(s.at);
      node.handle(s.to, { type: 'state', rid: s.msg.rid, predecessor: 10n, successors: [200n] });
    }
  };
  return { node, sent, asks, answer };
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

  describe('neighbours with an open connection', () => {
    const PING_MS = 3_000;
    /** Node 10 with backups 100, 150, 200 and predecessor 250; `linked` holds the nodes it has open links to. */
    function pingingNode(clock: FakeClock, linked: Set<bigint>) {
      const sent: { to: bigint; msg: RingMessage }[] = [];
      const node = new RingNode(
        {
          id: 10n,
          send: (to, msg) => sent.push({ to, msg }),
          clock,
          random: () => 0.5,
          isLinked: (n) => linked.has(n),
        },
        {
          bits: 8,
          successors: 4,
          stabilizeIntervalMs: NEVER,
          fixFingersIntervalMs: NEVER,
          checkPredecessorIntervalMs: PING_MS,
          pingSuccessorsIntervalMs: PING_MS,
          rpcTimeoutMs: 500,
          rpcRetries: 0,
        },
      );
      node.restore({ predecessor: 250n, successors: [50n, 100n, 150n, 200n], fingers: [] });
      const pinged = () => sent.filter((s) => s.msg.type === 'ping').map((s) => s.to);
      return { node, sent, pinged };
    }

    it('are not pinged: the backup pings go round the unlinked ones only', () => {
      const clock = new FakeClock(0);
      const { node, pinged } = pingingNode(clock, new Set([100n, 200n, 250n]));
      node.stopMaintenance();
      for (let i = 0; i < 4; i++) node.runMaintenance('pingSuccessors');
      expect(pinged()).toEqual([150n, 150n, 150n, 150n]);
      // A quiet predecessor with an open link is not pinged either.
      clock.advance(10 * PING_MS);
      node.runMaintenance('checkPredecessor');
      expect(pinged()).not.toContain(250n);
      node.destroy();
    });

    it('with every backup linked, the round sends nothing', () => {
      const clock = new FakeClock(0);
      const { node, sent } = pingingNode(clock, new Set([50n, 100n, 150n, 200n, 250n]));
      clock.advance(20 * PING_MS);
      expect(sent).toEqual([]);
      node.destroy();
    });

    it('when a connection is lost, the neighbour is pinged at once and forgotten if silent', () => {
      const clock = new FakeClock(0);
      const linked = new Set([50n, 100n, 150n, 200n, 250n]);
      const { node, sent, pinged } = pingingNode(clock, linked);
      node.stopMaintenance();
      // The link to backup 150 breaks; 150 does not answer the ping.
      linked.delete(150n);
      node.abandon(150n);
      expect(pinged()).toEqual([150n]);
      clock.advance(500);
      expect(node.snapshot().successors).toEqual([50n, 100n, 200n]);
      // The predecessor's link breaks; it answers, and stays.
      linked.delete(250n);
      node.abandon(250n);
      const ping = sent.findLast((s) => s.msg.type === 'ping')!;
      expect(ping.to).toBe(250n);
      node.handle(250n, { type: 'pong', rid: (ping.msg as { rid: number }).rid, predecessor: 200n });
      clock.advance(500);
      expect(node.snapshot().predecessor).toBe(250n);
      // A node that is no neighbour is not pinged.
      node.abandon(77n);
      expect(pinged()).toEqual([150n, 250n]);
      node.destroy();
    });

    it("when the first successor's connection is lost and it is silent, every backup is pinged at once", () => {
      const clock = new FakeClock(0);
      const linked = new Set([50n, 100n, 150n, 200n, 250n]);
      const { node, pinged } = pingingNode(clock, linked);
      node.stopMaintenance();
      linked.delete(50n);
      node.abandon(50n);
      expect(pinged()).toEqual([50n]);
      clock.advance(500);
      expect(node.snapshot().successors).toEqual([100n, 150n, 200n]);
      expect(pinged()).toEqual([50n, 100n, 150n, 200n]);
      node.destroy();
    });
  });

  describe('the watch over linked neighbours', () => {
    const WATCH_MS = 4_000;
    const TIMEOUT_MS = 500;
    /** Node 10 (successors 50, 100, 150, 200; predecessor 250), every one linked, only the watch on its timers. */
    function watchedNode(clock: FakeClock) {
      const sent: { at: number; to: bigint; msg: RingMessage }[] = [];
      const node = new RingNode(
        {
          id: 10n,
          send: (to, msg) => sent.push({ at: clock.now(), to, msg }),
          clock,
          random: () => 0.5,
          isLinked: () => true,
        },
        {
          bits: 8,
          successors: 4,
          stabilizeIntervalMs: NEVER,
          fixFingersIntervalMs: NEVER,
          checkPredecessorIntervalMs: NEVER,
          pingSuccessorsIntervalMs: NEVER,
          rpcTimeoutMs: TIMEOUT_MS,
          rpcRetries: 0,
          watchIntervalMs: WATCH_MS,
        },
      );
      node.restore({ predecessor: 250n, successors: [50n, 100n, 150n, 200n], fingers: [] });
      const pings = (to?: bigint) =>
        sent.filter((s) => s.msg.type === 'ping' && (to === undefined || s.to === to)).map((s) => s.at);
      /** Answers every ping sent to `from` so far that has no answer yet, naming `predecessor`. */
      const answered = new Set<number>();
      const pong = (from: bigint, predecessor: bigint | null) => {
        for (const s of sent) {
          if (s.to !== from || s.msg.type !== 'ping' || answered.has(s.msg.rid)) continue;
          answered.add(s.msg.rid);
          node.handle(from, { type: 'pong', rid: s.msg.rid, predecessor });
        }
      };
      return { node, sent, pings, pong };
    }

    it('pings a quiet successor once per interval, and not while it talks', () => {
      const clock = new FakeClock(0);
      const { node, pings, pong } = watchedNode(clock);
      for (let t = 0; t < 10 * WATCH_MS; t += 100) {
        clock.advance(100);
        pong(50n, 10n);
        node.handle(250n, { type: 'ping', rid: t }); // the predecessor's own watch
      }
      // One interval after its last word each time (each ping answered at once).
      expect(pings(50n)).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * WATCH_MS));
      expect(pings(250n)).toEqual([]);
      // A successor that keeps talking is not pinged.
      const before = pings(50n).length;
      for (let t = 0; t < 3 * WATCH_MS; t += 1_000) {
        clock.advance(1_000);
        node.handle(50n, { type: 'successors', successors: [100n, 150n, 200n] });
        node.handle(250n, { type: 'ping', rid: t });
      }
      expect(pings(50n)).toHaveLength(before);
      node.destroy();
      expect(clock.pending).toBe(0);
    });

    it('forgets a successor that crashed with its connection still open, and pings every backup at once', () => {
      const clock = new FakeClock(0);
      const { node, sent, pings } = watchedNode(clock);
      clock.advance(WATCH_MS); // 50 has been silent for an interval: pinged
      expect(pings(50n)).toEqual([WATCH_MS]);
      clock.advance(TIMEOUT_MS);
      expect(node.snapshot().successors).toEqual([100n, 150n, 200n]);
      // The backups are asked together, not one timeout after another.
      expect(sent.filter((s) => s.at === WATCH_MS + TIMEOUT_MS && s.msg.type === 'ping').map((s) => s.to)).toEqual([
        100n,
        150n,
        200n,
      ]);
      node.destroy();
    });

    it('keeps time on a clock that tells fractions of a millisecond (no wait rounds to zero again and again)', () => {
      // Start and hearing times where (heard + interval) - now comes out as 0 while
      // now - heard is still short of the interval.
      const clock = new FakeClock(3436.764);
      const { node, pings } = watchedNode(clock);
      clock.advance(411.00509681816357);
      node.handle(50n, { type: 'successors', successors: [100n, 150n, 200n] });
      clock.advance(WATCH_MS);
      expect(pings(50n)).toHaveLength(1);
      node.destroy();
    });

    it('stabilizes at once when the successor answers with another predecessor', () => {
      const clock = new FakeClock(0);
      const { node, sent, pong } = watchedNode(clock);
      clock.advance(WATCH_MS);
      pong(50n, 30n); // a newcomer 30 joined in front of us
      expect(sent.filter((s) => s.msg.type === 'get-state').map((s) => s.to)).toEqual([50n]);
      node.destroy();
    });

    it('pings a predecessor silent for an interval and the grace; a node that notified meanwhile takes its place', () => {
      const clock = new FakeClock(0);
      const { node, pings, pong } = watchedNode(clock);
      clock.advance(WATCH_MS + RING_WATCH_GRACE_MS - 1);
      pong(50n, 10n);
      expect(pings(250n)).toEqual([]);
      clock.advance(1);
      expect(pings(250n)).toEqual([WATCH_MS + RING_WATCH_GRACE_MS]);
      // While that ping waits, 240 says it is our predecessor (its successor 250 stopped answering).
      node.handle(240n, { type: 'get-state', rid: 7 });
      expect(node.snapshot().predecessor).toBe(250n);
      clock.advance(TIMEOUT_MS);
      expect(node.snapshot().predecessor).toBe(240n);
      node.destroy();
    });
  });

  describe('with a backoff, in a quiet neighbourhood', () => {
    /** Stabilizing every second, stretched up to 8 times; time moves on in 100 ms steps, every ask answered. */
    function backingOffNode(clock: FakeClock) {
      const n = stabilizingNode(clock, { intervalMs: 1_000, random: 0.5, backoff: 8 });
      const runFor = (ms: number) => {
        for (let t = 0; t < ms; t += 100) {
          clock.advance(100);
          n.answer();
        }
      };
      return { ...n, runFor };
    }

    it('stabilizes twice as far apart each quiet round, up to 8 intervals, and every interval again after a change', () => {
      const clock = new FakeClock(0);
      const { node, asks, runFor } = backingOffNode(clock);
      runFor(24_000);
      // Phase 500 ms, then 1, 2, 4, 8, 8 s apart (random 0.5: no jitter).
      expect(asks).toEqual([500, 1_500, 3_500, 7_500, 15_500, 23_500]);
      // The successor says its list changed: stabilization comes back within one interval.
      node.handle(100n, { type: 'successors', successors: [200n] });
      asks.length = 0;
      runFor(3_000);
      expect(asks).toEqual([24_500, 25_500]);
      node.destroy();
    });

    it('tells the old predecessor when a newcomer takes its place, which brings its stabilization forward', () => {
      const clock = new FakeClock(0);
      const { node, sent } = backingOffNode(clock);
      node.stopMaintenance();
      node.handle(250n, { type: 'join', rid: 1 });
      expect(node.snapshot().predecessor).toBe(250n);
      expect(sent.filter((s) => s.to === 200n).map((s) => s.msg)).toEqual([
        { type: 'successors', successors: [100n, 200n] },
      ]);
      node.destroy();
    });
  });
});
