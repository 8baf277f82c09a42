/**
 * SwarmAnnouncer on a fake tracker and a fake clock: the announce loop's timing, the
 * completion that is retried until a tracker acknowledges it, a swarm the tracker blocks,
 * and stop.
 */
import {
  type AnnounceRequest,
  type AnnounceResult,
  ErrorCode,
  LONELY_ANNOUNCE_MS,
  NUMWANT,
  RingswarmError,
  SwarmAnnouncer,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { newPeerId } from '../helpers/fake-link.js';
import { nextMacrotask } from '../helpers/until.js';

const INFO_HASH = 'ab'.repeat(32);

function setup() {
  const clock = new FakeClock();
  const requests: AnnounceRequest[] = [];
  /** What the tracker answers next: peers and interval, or a refusal. */
  let next: AnnounceResult | RingswarmError = { peers: [], complete: 0, incomplete: 0, interval: 120 };
  const tracker = {
    announce: async (req: AnnounceRequest) => {
      requests.push(req);
      if (next instanceof RingswarmError) throw next;
      return next;
    },
  };
  const swarm = {
    discoveryKey: INFO_HASH,
    done: false,
    left: 100 as number | null,
    stats: () => ({ uploaded: 7, downloaded: 3 }),
  };
  const connected: string[] = [];
  const warnings: Error[] = [];
  let blocked = 0;
  const announcer = new SwarmAnnouncer({
    clock,
    tracker,
    swarm,
    connect: (id) => connected.push(id),
    warn: (err) => warnings.push(err),
    blocked: () => {
      blocked++;
    },
  });
  const answer = (a: AnnounceResult | RingswarmError) => {
    next = a;
  };
  return { clock, requests, swarm, connected, warnings, announcer, answer, blockedCalls: () => blocked };
}

describe('the announce loop', () => {
  it('announces started, connects to the peers named, and again at the tracker interval', async () => {
    const { clock, requests, connected, announcer, answer } = setup();
    const peer = newPeerId();
    answer({ peers: [peer], complete: 1, incomplete: 0, interval: 120 });
    announcer.start();
    await nextMacrotask();
    expect(requests).toEqual([
      { discoveryKey: INFO_HASH, event: 'started', left: 100, uploaded: 7, downloaded: 3, numwant: NUMWANT },
    ]);
    expect(connected).toEqual([peer]);
    clock.advance(120_000 - 1);
    expect(requests).toHaveLength(1);
    clock.advance(1);
    await nextMacrotask();
    expect(requests.map((r) => r.event)).toEqual(['started', 'update']);
    announcer.stop();
  });

  it('announces again soon while a download has no peer, or the tracker failed', async () => {
    const { clock, requests, warnings, announcer, answer } = setup();
    announcer.start();
    await nextMacrotask();
    clock.advance(LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(requests).toHaveLength(2);
    answer(new RingswarmError(ErrorCode.TIMEOUT, 'no answer'));
    clock.advance(LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(warnings.map((w) => (w as RingswarmError).code)).toEqual([ErrorCode.TIMEOUT]);
    clock.advance(LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(requests).toHaveLength(4);
    announcer.stop();
  });

  it('tells the next tracker of a completion no tracker acknowledged', async () => {
    const { clock, requests, swarm, announcer, answer } = setup();
    announcer.start();
    await nextMacrotask();
    swarm.done = true;
    swarm.left = 0;
    answer(new RingswarmError(ErrorCode.TIMEOUT, 'tracker connection lost, reconnecting'));
    announcer.complete();
    await nextMacrotask();
    // Reconnected: the `started` it would send is a `completed`, until one gets through.
    answer({ peers: [], complete: 1, incomplete: 0, interval: 120 });
    announcer.start();
    await nextMacrotask();
    announcer.start();
    await nextMacrotask();
    expect(requests.map((r) => r.event)).toEqual(['started', 'completed', 'completed', 'started']);
    clock.advance(120_000);
    await nextMacrotask();
    expect(requests.at(-1)?.event).toBe('update');
    announcer.stop();
  });

  it('announces stopped once, asking for no peers, and nothing after', async () => {
    const { clock, requests, announcer } = setup();
    announcer.start();
    await nextMacrotask();
    announcer.stop();
    announcer.stop();
    announcer.start();
    announcer.complete();
    await nextMacrotask();
    clock.advance(10 * LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(requests.map((r) => [r.event, r.numwant])).toEqual([
      ['started', NUMWANT],
      ['stopped', 0],
    ]);
    expect(clock.pending).toBe(0);
  });
});

describe('a swarm the tracker blocks', () => {
  it('stops announcing it after ERR_BLOCKED, says so once, and sends no stopped', async () => {
    const { clock, requests, warnings, announcer, answer, blockedCalls } = setup();
    announcer.start();
    await nextMacrotask();
    expect(requests).toHaveLength(1);
    answer(new RingswarmError(ErrorCode.BLOCKED, 'blocked by the operator'));
    clock.advance(LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(requests.map((r) => r.event)).toEqual(['started', 'update']);
    expect(blockedCalls()).toBe(1);
    expect(announcer.blocked).toBe(true);
    // Not a failure to report as a warning, and no retry loop: nothing is planned.
    expect(warnings).toEqual([]);
    expect(clock.pending).toBe(0);
    clock.advance(100 * LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    // A reconnect, the download's completion and the end tell the tracker nothing either.
    announcer.start();
    announcer.complete();
    announcer.announceIn(0);
    clock.advance(1);
    await nextMacrotask();
    announcer.stop();
    await nextMacrotask();
    expect(requests).toHaveLength(2);
    expect(blockedCalls()).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it('says so once when two announces in flight are both refused', async () => {
    const { requests, announcer, answer, blockedCalls } = setup();
    answer(new RingswarmError(ErrorCode.BLOCKED, 'blocked by the operator'));
    announcer.start();
    announcer.complete();
    await nextMacrotask();
    expect(requests.map((r) => r.event)).toEqual(['started', 'completed']);
    expect(blockedCalls()).toBe(1);
    announcer.stop();
  });

  it('keeps retrying after other refusals (a timeout is not a block)', async () => {
    const { clock, requests, announcer, answer, blockedCalls } = setup();
    answer(new RingswarmError(ErrorCode.TIMEOUT, 'no answer'));
    announcer.start();
    await nextMacrotask();
    clock.advance(LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(requests).toHaveLength(2);
    expect(blockedCalls()).toBe(0);
    announcer.stop();
  });
});
