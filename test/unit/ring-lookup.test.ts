import {
  ErrorCode,
  RING_LOOKUP_MAX_STEPS,
  RingLookup,
  type RingLookupDeps,
  type RingLookupHop,
  type RingLookupObserver,
  type RingLookupOutcome,
  type RingLookupResult,
  type RingReply,
  RingSpace,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';

type Found = Extract<RingReply, { type: 'found' }>;
type Pong = Extract<RingReply, { type: 'pong' }>;
type Call =
  | { kind: 'find'; node: bigint; exclude: bigint[]; answer: (found: Found | null) => void }
  | { kind: 'ping'; node: bigint; answer: (pong: Pong | null) => void };

/**
 * The lookup's whole world: each FIND and ping waits in `calls` until the test answers it,
 * so one lookup is driven one step at a time.
 */
class StepNet {
  readonly calls: Call[] = [];
  outcome: RingLookupOutcome | undefined;
  readonly deps: RingLookupDeps;

  constructor(self: bigint, bits = 8, localTable: bigint[] = []) {
    const space = new RingSpace(bits);
    this.deps = {
      self,
      space,
      find: (node, _key, exclude, callback) => this.calls.push({ kind: 'find', node, exclude, answer: callback }),
      ping: (node, callback) => this.calls.push({ kind: 'ping', node, answer: callback }),
      closestPreceding: () => localTable,
    };
  }

  lookup(key: bigint, observer?: RingLookupObserver): RingLookup {
    return new RingLookup(
      this.deps,
      key,
      (o) => {
        expect(this.outcome).toBeUndefined(); // a lookup finishes once
        this.outcome = o;
      },
      observer,
    );
  }

  /** The one request the lookup waits on now. */
  next(): Call {
    expect(this.calls).toHaveLength(1);
    return this.calls.shift()!;
  }

  find(node: bigint, done: boolean, nodes: bigint[]): void {
    const call = this.next();
    expect(call).toMatchObject({ kind: 'find', node });
    if (call.kind === 'find') call.answer({ type: 'found', rid: 0, done, nodes });
  }

  pong(node: bigint, predecessor: bigint | null): void {
    const call = this.next();
    expect(call).toMatchObject({ kind: 'ping', node });
    if (call.kind === 'ping') call.answer({ type: 'pong', rid: 0, predecessor });
  }

  silent(kind: Call['kind'], node: bigint): void {
    const call = this.next();
    expect(call).toMatchObject({ kind, node });
    call.answer(null);
  }
}

// The ring in these tests (m = 8): 10 (us), 40, 80, 100, 120, 160, 200. 150 belongs to 160.
describe('RingLookup step by step (m = 8)', () => {
  it('converges: closer nodes from each answer, then the owner confirmed by its ping', () => {
    const net = new StepNet(10n);
    net.lookup(150n).askFrom([80n]);
    // 80 names 120 and 40; 40 lies behind 80 and is not taken.
    net.find(80n, false, [120n, 40n]);
    net.find(120n, true, [160n, 200n]);
    expect(net.outcome).toBeUndefined(); // not before the owner answers
    net.pong(160n, 120n);
    expect(net.outcome).toEqual({
      owner: 160n,
      owners: [160n, 200n],
      hops: 2,
      timeouts: 0,
      deadNodes: [],
      error: null,
    });
    expect(net.calls).toEqual([]);
  });

  it('skips a node that does not answer and leaves it out of later answers', () => {
    const net = new StepNet(10n);
    net.lookup(150n).askFrom([80n]);
    net.find(80n, false, [100n, 120n]);
    // Closest to the key first: 120, then 100.
    net.silent('find', 120n);
    net.find(100n, true, [120n, 160n]);
    // 120 is known dead: the confirmation goes to 160 directly.
    net.pong(160n, 120n);
    expect(net.outcome).toMatchObject({ owner: 160n, owners: [160n], hops: 2, timeouts: 1, deadNodes: [120n] });
  });

  it('tries the next possible owner when the first does not answer its ping', () => {
    const net = new StepNet(10n);
    net.lookup(150n).askFrom([120n]);
    net.find(120n, true, [160n, 200n]);
    net.silent('ping', 160n);
    net.pong(200n, 120n);
    expect(net.outcome).toMatchObject({ owner: 200n, owners: [200n], timeouts: 1, deadNodes: [160n] });
  });

  it("checks the owner's predecessor when that lies between the key and the owner", () => {
    const net = new StepNet(10n);
    net.lookup(150n).askFrom([120n]);
    // 120's view is stale: it names 200, but 160 joined before 200 since.
    net.find(120n, true, [200n]);
    net.pong(200n, 160n);
    net.pong(160n, 120n);
    expect(net.outcome).toMatchObject({ owner: 160n, owners: [160n, 200n], hops: 1 });
  });

  it('asks an answered node again, naming the dead, when every candidate is gone', () => {
    const net = new StepNet(10n);
    net.lookup(150n).askFrom([80n]);
    net.find(80n, false, [120n]);
    net.silent('find', 120n);
    const again = net.next();
    expect(again).toMatchObject({ kind: 'find', node: 80n, exclude: [120n] });
  });

  it('fails with ERR_RING_LOOKUP_FAILED when no live node is left to ask', () => {
    const net = new StepNet(10n);
    net.lookup(150n).askFrom([80n]);
    net.silent('find', 80n);
    expect(net.outcome).toMatchObject({ owner: null, owners: [], timeouts: 1 });
    expect(net.outcome?.error?.code).toBe(ErrorCode.RING_LOOKUP_FAILED);
    expect(net.calls).toEqual([]);
  });

  it(`stops at the step limit (${RING_LOOKUP_MAX_STEPS} requests) with ERR_RING_LOOKUP_FAILED`, () => {
    // m = 16 so that each answer can name a node one step closer, without end.
    const net = new StepNet(0n, 16);
    net.lookup(60_000n).askFrom([1n]);
    let asked = 0;
    while (net.calls.length > 0) {
      const call = net.next();
      expect(call.kind).toBe('find');
      asked++;
      if (call.kind === 'find') call.answer({ type: 'found', rid: 0, done: false, nodes: [call.node + 1n] });
    }
    expect(asked).toBe(RING_LOOKUP_MAX_STEPS);
    expect(net.outcome).toMatchObject({ owner: null, owners: [], hops: RING_LOOKUP_MAX_STEPS });
    expect(net.outcome?.error?.code).toBe(ErrorCode.RING_LOOKUP_FAILED);
    expect(net.outcome?.error?.message).toMatch(/too many steps/);
  });

  it('ends at once when the running node owns the key', () => {
    const net = new StepNet(10n);
    net.lookup(5n).answerLocally([10n, 40n]);
    expect(net.outcome).toMatchObject({ owner: 10n, owners: [10n, 40n], hops: 0, error: null });
    expect(net.calls).toEqual([]);
  });
});

type Seen = { start: bigint } | { hop: RingLookupHop } | { end: RingLookupResult };

/** An observer that writes down what it is told, in order. */
function watcher(): { seen: Seen[]; observer: RingLookupObserver } {
  const seen: Seen[] = [];
  return {
    seen,
    observer: {
      start: (key) => seen.push({ start: key }),
      hop: (hop) => seen.push({ hop }),
      end: (result) => seen.push({ end: result }),
    },
  };
}

describe('RingLookup observer (m = 8)', () => {
  it('is told each hop as its answer comes, then the end with the result', () => {
    const net = new StepNet(10n);
    const { seen, observer } = watcher();
    net.lookup(150n, observer).askFrom([80n]);
    expect(seen).toEqual([{ start: 150n }]);
    net.find(80n, false, [120n, 40n]);
    // 40 lies behind 80: the answer pointed to 120.
    expect(seen.at(-1)).toEqual({ hop: { index: 1, from: 80n, to: 120n, done: false } });
    net.find(120n, true, [160n, 200n]);
    expect(seen.at(-1)).toEqual({ hop: { index: 2, from: 120n, to: 160n, done: true } });
    expect(seen).toHaveLength(3); // no end before the owner's ping is answered
    net.pong(160n, 120n);
    const { deadNodes: _, ...result } = net.outcome!;
    expect(seen.at(-1)).toEqual({ end: result });
    expect(seen).toHaveLength(4);
    expect(result).toMatchObject({ owner: 160n, hops: 2 });
  });

  it('names the closest node an answer gives, whatever order the answer lists them in', () => {
    const net = new StepNet(10n);
    const { seen, observer } = watcher();
    net.lookup(150n, observer).askFrom([40n]);
    net.find(40n, false, [80n, 120n, 100n]);
    expect(seen.at(-1)).toEqual({ hop: { index: 1, from: 40n, to: 120n, done: false } });
  });

  it('reports no hop for a node that did not answer, and ends with the same hop count as the result', () => {
    const net = new StepNet(10n);
    const { seen, observer } = watcher();
    net.lookup(150n, observer).askFrom([80n]);
    net.find(80n, false, [100n, 120n]);
    net.silent('find', 120n);
    net.find(100n, true, [120n, 160n]);
    net.pong(160n, 120n);
    const hops = seen.flatMap((s) => ('hop' in s ? [s.hop] : []));
    // 120 is dead: the owner 100 named is 160, its next entry.
    expect(hops).toEqual([
      { index: 1, from: 80n, to: 120n, done: false },
      { index: 2, from: 100n, to: 160n, done: true },
    ]);
    expect(net.outcome).toMatchObject({ hops: 2, timeouts: 1 });
    expect(seen.at(-1)).toMatchObject({ end: { owner: 160n, hops: 2, timeouts: 1 } });
  });

  it('is told the start and the end, with no hop, for a lookup answered locally or failed', () => {
    const local = watcher();
    new StepNet(10n).lookup(5n, local.observer).answerLocally([10n, 40n]);
    expect(local.seen).toEqual([
      { start: 5n },
      { end: { owner: 10n, owners: [10n, 40n], hops: 0, timeouts: 0, error: null } },
    ]);

    const net = new StepNet(10n);
    const failed = watcher();
    net.lookup(150n, failed.observer).askFrom([80n]);
    net.silent('find', 80n);
    expect(failed.seen).toHaveLength(2);
    expect(failed.seen[1]).toMatchObject({ end: { owner: null, hops: 0, timeouts: 1 } });
    expect((failed.seen[1] as { end: RingLookupResult }).end.error?.code).toBe(ErrorCode.RING_LOOKUP_FAILED);
  });
});
