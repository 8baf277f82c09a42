/**
 * SignalingRouter on fake links, a fake tracker and a fake clock: which path a connection's
 * signaling takes (ring or tracker), how a routed signal finds its next hop (the target, a
 * return hop, greedy), the replay through the tracker after 4 s, and which signals are
 * dropped (another session, duplicates, bad session ids).
 */
import {
  decodeRouteFrame,
  ErrorCode,
  encodeRouteFrame,
  FAILED_PEER_MEMORY_MS,
  HELLO_FRAME,
  LinkPool,
  nextHop,
  OverlayFrameType,
  RING_SIGNAL_FALLBACK_MS,
  type RingPosition,
  RingSpace,
  RingswarmError,
  ROUTE_MAX_HOPS,
  type RoutedSignal,
  SignalingRouter,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeLinkFactory, type FakePeerLink } from '../helpers/fake-peer-link.js';
import { nextMacrotask } from '../helpers/until.js';

/** Peer IDs placed on the circle by their first byte. */
const at = (firstByte: string) => firstByte.padEnd(40, '0');
const SELF = at('10');
const TARGET = at('80');
const OFFER = { type: 'offer', sdp: 'v=0 offer' };
const ANSWER = { type: 'answer', sdp: 'v=0 answer' };
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'a=candidate:1' } };

class FakeTracker {
  connected = true;
  readonly sent: { to: string; data: Record<string, unknown> }[] = [];
  refuse: RingswarmError | null = null;

  async signal(to: string, data: Record<string, unknown>): Promise<void> {
    if (this.refuse) throw this.refuse;
    this.sent.push({ to, data });
  }
}

class FakeRing implements RingPosition {
  joined = true;
  destroyed = false;
  readonly #space = new RingSpace();

  nextHopTowards(target: string, candidates: readonly string[]): string | null {
    const s = this.#space;
    const hop = nextHop(
      s,
      s.fromHex(SELF),
      s.fromHex(target),
      candidates.map((c) => s.fromHex(c)),
    );
    return hop === null ? null : s.toHex(hop);
  }
}

/** A link pool of a ring member on fake links, with no pointers and no swarms. */
function newPool(clock: FakeClock, links: FakeLinkFactory): LinkPool {
  return new LinkPool({
    peerId: SELF,
    clock,
    createLink: links.create,
    linkOptions: {},
    isPointer: () => false,
    swarmFor: () => null,
    ringMember: true,
  });
}

function setup(options: { ring?: boolean } = {}) {
  const clock = new FakeClock();
  const links = new FakeLinkFactory();
  const pool = newPool(clock, links);
  const tracker = new FakeTracker();
  const router = new SignalingRouter({ peerId: SELF, clock, links: pool, tracker });
  const ring = new FakeRing();
  if (options.ring !== false) router.useRing(ring);
  pool.on('overlay-frame', (from, frame) => {
    if (frame[0] === OverlayFrameType.ROUTE) router.handleRouteFrame(from, frame);
  });
  const warnings: Error[] = [];
  router.on('warning', (err) => warnings.push(err));

  /** An open link to a ring member that routes signals (it said HELLO). */
  const neighbour = (id: string): FakePeerLink => {
    pool.create(id, true, true);
    const link = links.last(id);
    link.open();
    link.receive(HELLO_FRAME);
    return link;
  };
  return { clock, links, pool, tracker, router, ring, warnings, neighbour };
}

const routed = (link: FakePeerLink): RoutedSignal[] =>
  link.sent.filter((f) => f[0] === OverlayFrameType.ROUTE).map((f) => decodeRouteFrame(f));

describe('path choice', () => {
  it('signals through the tracker while there is no ring', () => {
    const { router, links, tracker } = setup({ ring: false });
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    expect(tracker.sent).toHaveLength(1);
    const [{ to, data }] = tracker.sent as [{ to: string; data: Record<string, unknown> }];
    expect(to).toBe(TARGET);
    expect(data).toMatchObject(OFFER);
    expect(data.sid).toMatch(/^[0-9a-f]{16}$/);
    expect(router.stats().signals).toMatchObject({ viaRing: 0, viaTracker: 1 });
  });

  it('signals through the tracker while this peer has not joined the ring', () => {
    const { router, ring, tracker, links, neighbour } = setup();
    ring.joined = false;
    const member = neighbour(at('70'));
    expect(router.pathTo(TARGET)).toBe('tracker');
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    expect(tracker.sent).toHaveLength(1);
    expect(routed(member)).toEqual([]);
  });

  it('routes greedily to the linked ring member closest before the target', () => {
    const { router, tracker, links, neighbour } = setup();
    const [before, closer, beyond] = [neighbour(at('40')), neighbour(at('70')), neighbour(at('a0'))];
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    expect(routed(closer)).toEqual([{ origin: SELF, target: TARGET, hops: 0, data: expect.objectContaining(OFFER) }]);
    expect(routed(before)).toEqual([]);
    expect(routed(beyond)).toEqual([]);
    expect(tracker.sent).toEqual([]);
    expect(router.stats().signals).toMatchObject({ viaRing: 1, viaTracker: 0 });
  });

  it('falls back to the tracker at once when no linked member makes progress', () => {
    const { router, tracker, links, neighbour } = setup();
    // Past the target on the circle: handing it the signal would move away from the target.
    const beyond = neighbour(at('a0'));
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    links.last(TARGET).emitSignal(CANDIDATE);
    expect(routed(beyond)).toEqual([]);
    expect(tracker.sent.map((s) => s.data.type)).toEqual(['offer', 'candidate']);
  });

  it('hands its own signals to any linked member before it has joined (its bootstrap peer)', () => {
    const { router, ring, links, neighbour, tracker } = setup();
    ring.joined = false;
    const bootstrap = neighbour(at('a0'));
    router.open(TARGET, false, 'ring');
    links.last(TARGET).emitSignal(OFFER);
    expect(routed(bootstrap).map((s) => s.target)).toEqual([TARGET]);
    expect(tracker.sent).toEqual([]);
  });

  it('signals a peer whose last link failed through the tracker, for a while', () => {
    const { router, clock, links, tracker, neighbour } = setup();
    neighbour(at('70'));
    router.open(TARGET, false);
    links.last(TARGET).close(ErrorCode.NO_ROUTE);
    expect(router.pathTo(TARGET)).toBe('tracker');
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    expect(tracker.sent).toHaveLength(1);
    // Without a tracker, the ring is the only way.
    tracker.connected = false;
    expect(router.pathTo(TARGET)).toBe('ring');
    tracker.connected = true;
    clock.advance(FAILED_PEER_MEMORY_MS);
    expect(router.pathTo(TARGET)).toBe('ring');
  });

  it('does not count a link this peer closed on purpose as a failure', () => {
    const { router, pool } = setup();
    const entry = router.open(TARGET, false)!;
    pool.retire(entry);
    expect(router.pathTo(TARGET)).toBe('ring');
  });
});

describe('forwarding routed signals', () => {
  const from = (
    origin: string,
    target: string,
    hops = 0,
    data: Record<string, unknown> = { ...OFFER, sid: 'ab'.repeat(8) },
  ) => encodeRouteFrame({ origin, target, hops, data });

  it('passes a signal straight to its target when linked to it, one hop further', () => {
    const { router, neighbour } = setup();
    const origin = at('05');
    const sender = neighbour(at('08'));
    const target = neighbour(TARGET);
    sender.receive(from(origin, TARGET, 3));
    expect(routed(target)).toEqual([{ origin, target: TARGET, hops: 4, data: expect.objectContaining(OFFER) }]);
    expect(routed(sender)).toEqual([]);
    expect(router.stats().signals.relayed).toBe(1);
  });

  it('sends answers back along the return hop to a newcomer that is not in the ring', () => {
    const { router, links, neighbour, tracker } = setup();
    const newcomer = at('f0');
    // The newcomer's bootstrap peer hands us its offer.
    const bootstrap = neighbour(at('f8'));
    bootstrap.receive(from(newcomer, SELF, 1, { ...OFFER, sid: 'cd'.repeat(8) }));
    const link = links.last(newcomer);
    expect(link.initiator).toBe(false);
    expect(link.signalled).toEqual([OFFER]);
    expect(router.stats().signals.received).toBe(1);
    // Our answer goes back the way the offer came, though greedy routing would never pick it.
    link.emitSignal(ANSWER);
    expect(routed(bootstrap)).toEqual([
      { origin: SELF, target: newcomer, hops: 0, data: { ...ANSWER, sid: 'cd'.repeat(8) } },
    ]);
    expect(tracker.sent).toEqual([]);
  });

  it('never hands a signal back to the peer it came from', () => {
    const { router, neighbour } = setup();
    const sender = neighbour(at('70'));
    sender.receive(from(at('05'), TARGET));
    expect(routed(sender)).toEqual([]);
    expect(router.stats().signals).toMatchObject({ relayed: 0, dropped: 1 });
  });

  it('drops a signal at the hop limit, and its own signal coming back', () => {
    const { router, neighbour } = setup();
    const sender = neighbour(at('08'));
    const next = neighbour(at('70'));
    sender.receive(from(at('05'), TARGET, ROUTE_MAX_HOPS));
    sender.receive(from(SELF, TARGET));
    expect(routed(next)).toEqual([]);
    expect(router.stats().signals).toMatchObject({ relayed: 0, dropped: 2 });
    expect(sender.destroyed).toBe(false);
  });

  it('drops a peer that routes a signal to its own origin, or sends a malformed ROUTE frame', () => {
    const { router, neighbour, warnings } = setup();
    const looper = neighbour(at('08'));
    looper.receive(from(at('08'), at('08')));
    expect(looper.closeCode).toBe(ErrorCode.ROUTE_LOOP);
    const garbler = neighbour(at('09'));
    garbler.receive(Uint8Array.of(OverlayFrameType.ROUTE, 0x7b));
    expect(garbler.closeCode).toBe(ErrorCode.BAD_FRAME);
    expect(router.stats().peersDropped).toBe(2);
    expect(warnings).toHaveLength(2);
    expect(warnings.every((w) => w instanceof RingswarmError)).toBe(true);
    expect(warnings.map((w) => (w as RingswarmError).code)).toEqual([ErrorCode.ROUTE_LOOP, ErrorCode.BAD_FRAME]);
  });
});

describe('the replay through the tracker', () => {
  it('sends every signal again through the tracker when the ring path stays silent for 4 s', () => {
    const { router, clock, links, tracker, neighbour } = setup();
    const member = neighbour(at('70'));
    router.open(TARGET, false);
    const link = links.last(TARGET);
    link.emitSignal(OFFER);
    link.emitSignal(CANDIDATE);
    expect(routed(member)).toHaveLength(2);
    clock.advance(RING_SIGNAL_FALLBACK_MS - 1);
    expect(tracker.sent).toEqual([]);
    clock.advance(1);
    expect(tracker.sent.map((s) => s.data.type)).toEqual(['offer', 'candidate']);
    const sid = routed(member)[0]!.data.sid;
    expect(tracker.sent.every((s) => s.to === TARGET && s.data.sid === sid)).toBe(true);
    // From now on, this connection's signals take the tracker.
    link.emitSignal(CANDIDATE);
    expect(tracker.sent).toHaveLength(3);
    expect(routed(member)).toHaveLength(2);
  });

  it('replays nothing for a link that opened in time', () => {
    const { router, clock, links, tracker, neighbour } = setup();
    neighbour(at('70'));
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    links.last(TARGET).open();
    clock.advance(10 * RING_SIGNAL_FALLBACK_MS);
    expect(tracker.sent).toEqual([]);
  });

  it('replays at once when the remote answers through the tracker', () => {
    const { router, links, tracker, neighbour } = setup();
    const member = neighbour(at('70'));
    router.open(TARGET, false);
    const link = links.last(TARGET);
    link.emitSignal(OFFER);
    const sid = routed(member)[0]!.data.sid;
    router.handleSignal(TARGET, { ...ANSWER, sid }, 'tracker');
    expect(tracker.sent.map((s) => s.data.type)).toEqual(['offer']);
    expect(link.signalled).toEqual([ANSWER]);
  });

  it('keeps to the ring when the tracker is gone', () => {
    const { router, clock, links, tracker, neighbour } = setup();
    neighbour(at('70'));
    tracker.connected = false;
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    clock.advance(RING_SIGNAL_FALLBACK_MS);
    expect(tracker.sent).toEqual([]);
  });

  it('closes the link with the code the tracker refused a signal with', async () => {
    const { router, links, tracker, warnings } = setup({ ring: false });
    tracker.refuse = new RingswarmError(ErrorCode.UNKNOWN_PEER, 'not connected');
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await nextMacrotask(); // lets the fake tracker's refusal reach its handler
    expect(links.last(TARGET).closeCode).toBe(ErrorCode.UNKNOWN_PEER);
    expect(warnings.map((w) => (w as RingswarmError).code)).toEqual([ErrorCode.UNKNOWN_PEER]);
  });
});

describe('signals that are dropped', () => {
  const opened = () => {
    const t = setup({ ring: false });
    t.router.open(TARGET, false);
    const link = t.links.last(TARGET);
    link.emitSignal(OFFER);
    const sid = t.tracker.sent[0]!.data.sid as string;
    return { ...t, link, sid };
  };

  it('applies the answer once, and ignores an offer to the side that offered', () => {
    const { router, link, sid } = opened();
    router.handleSignal(TARGET, { ...ANSWER, sid }, 'tracker');
    router.handleSignal(TARGET, { ...ANSWER, sid }, 'ring');
    router.handleSignal(TARGET, { ...OFFER, sid }, 'tracker');
    router.handleSignal(TARGET, { ...CANDIDATE, sid }, 'ring');
    expect(link.signalled).toEqual([ANSWER, CANDIDATE]);
  });

  it('drops candidates and answers of another session, and signals without a valid session id', () => {
    const { router, link, links, sid } = opened();
    router.handleSignal(TARGET, { ...ANSWER, sid: 'ee'.repeat(8) }, 'tracker');
    router.handleSignal(TARGET, { ...CANDIDATE, sid: 'ee'.repeat(8) }, 'tracker');
    router.handleSignal(TARGET, { ...CANDIDATE }, 'tracker');
    router.handleSignal(TARGET, { ...CANDIDATE, sid: sid.toUpperCase() }, 'tracker');
    router.handleSignal(TARGET, { ...OFFER, sid: 'short' }, 'tracker');
    router.handleSignal(SELF, { ...OFFER, sid: 'ee'.repeat(8) }, 'tracker');
    expect(link.signalled).toEqual([]);
    expect(links.made).toHaveLength(1);
  });

  it('replaces a connection when the remote starts a new session', () => {
    const { router, links, pool } = setup({ ring: false });
    router.handleSignal(TARGET, { ...OFFER, sid: '11'.repeat(8) }, 'tracker');
    const old = links.last(TARGET);
    const closes: boolean[] = [];
    pool.on('link-close', (_id, _code, _hash, failed) => closes.push(failed));
    router.handleSignal(TARGET, { ...OFFER, sid: '22'.repeat(8) }, 'tracker');
    const fresh = links.last(TARGET);
    expect(fresh).not.toBe(old);
    expect(old.destroyed).toBe(true);
    expect(closes).toEqual([false]);
    expect(fresh.signalled).toEqual([OFFER]);
    // The old session's late candidates reach nobody.
    router.handleSignal(TARGET, { ...CANDIDATE, sid: '11'.repeat(8) }, 'tracker');
    expect(fresh.signalled).toEqual([OFFER]);
  });

  it('settles offers made at once: the lower peer ID keeps its own', () => {
    // We are SELF (0x10...); a higher ID yields to us.
    const high = setup({ ring: false });
    high.router.open(TARGET, false);
    high.router.handleSignal(TARGET, { ...OFFER, sid: '33'.repeat(8) }, 'tracker');
    expect(high.links.made).toHaveLength(1);
    expect(high.links.last(TARGET).destroyed).toBe(false);
    // A lower ID keeps its offer: we yield and answer it.
    const lower = at('01');
    const low = setup({ ring: false });
    low.router.open(lower, false);
    low.router.handleSignal(lower, { ...OFFER, sid: '33'.repeat(8) }, 'tracker');
    expect(low.links.made).toHaveLength(2);
    expect(low.links.made[0]!.destroyed).toBe(true);
    expect(low.links.last(lower).initiator).toBe(false);
  });
});

describe('destroy', () => {
  it('stops every replay timer, emits close last, ignores signals after, and is idempotent', () => {
    const { router, pool, clock, links, tracker, neighbour } = setup();
    neighbour(at('70'));
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    const events: string[] = [];
    router.on('close', () => events.push('close'));
    router.on('warning', () => events.push('warning'));
    router.destroy();
    router.destroy();
    expect(events).toEqual(['close']);
    router.handleSignal(at('99'), { ...OFFER, sid: '44'.repeat(8) }, 'tracker');
    expect(router.open(at('98'), true)).toBeNull();
    pool.destroy();
    expect(clock.pending).toBe(0);
    clock.advance(RING_SIGNAL_FALLBACK_MS);
    expect(tracker.sent).toEqual([]);
  });

  it('takes the link-close listener it added off the pool again', () => {
    const clock = new FakeClock();
    const links = new FakeLinkFactory();
    const pool = newPool(clock, links);
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const on = pool.on.bind(pool);
    const off = pool.off.bind(pool);
    pool.on = ((event: 'link-close', listener: never) => {
      if (event === 'link-close') added.push(listener);
      return on(event, listener);
    }) as typeof pool.on;
    pool.off = ((event: 'link-close', listener: never) => {
      if (event === 'link-close') removed.push(listener);
      return off(event, listener);
    }) as typeof pool.off;
    const router = new SignalingRouter({ peerId: SELF, clock, links: pool, tracker: new FakeTracker() });
    expect(added).toHaveLength(1);
    router.destroy();
    router.destroy();
    expect(removed).toEqual(added);
    pool.destroy();
  });
});
