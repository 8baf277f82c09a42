/**
 * SignalingRouter on fake links, a fake tracker and a fake clock: which path a connection's
 * signaling takes (ring or tracker), how a routed signal finds its next hop (the target, a
 * return hop, greedy), the replay through the tracker after 4 s, which signals are dropped
 * (another session, duplicates, bad session ids), and which are refused because their
 * signature does not check out (forged, tampered, meant for another), here or at a hop.
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
  type PeerIdentity,
  RING_SIGNAL_ANSWER_MS,
  RING_SIGNAL_FALLBACK_MS,
  type RingPosition,
  RingSpace,
  RingswarmError,
  ROUTE_MAX_HOPS,
  type RoutedSignal,
  type SignalEnvelope,
  SignalingRouter,
  signSignal,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { FakeLinkFactory, type FakePeerLink } from '../helpers/fake-peer-link.js';
import { identitiesAt } from '../helpers/identities.js';
import { nextMacrotask } from '../helpers/until.js';

/** Peers placed on the circle by the first byte of their key-derived IDs. */
const IDENTITIES = identitiesAt(['01', '05', '08', '09', '10', '40', '70', '80', '98', '99', 'a0', 'e0', 'f0', 'f8']);
const identity = (firstByte: string): PeerIdentity => {
  const found = IDENTITIES.get(firstByte);
  if (!found) throw new Error(`no identity at ${firstByte}`);
  return found;
};
const at = (firstByte: string) => identity(firstByte).peerId;
const SELF = at('10');
const TARGET = at('80');
/** `data` as `origin` signs it for `target` (default: this peer) in session `sid`. */
const signed = (origin: string, data: Record<string, unknown>, sid: string, target = SELF): Promise<SignalEnvelope> =>
  signSignal(identity(origin.slice(0, 2)), target, sid, data);
/** What a signal says, read from its signed body. */
const body = (envelope: unknown): Record<string, unknown> => JSON.parse((envelope as SignalEnvelope).body);
/** The signals an envelope carries, in order (one, or a list of those made during a signature). */
const signalsIn = (envelope: unknown): Record<string, unknown>[] => {
  const parsed = body(envelope);
  return Array.isArray(parsed) ? parsed : [parsed];
};
/** Lets the router's signing chains run. */
/** Routers made by this file's tests, for {@link flush}. */
const routers = new Set<SignalingRouter>();
/**
 * Lets every pending timer-free step run: signing and verifying go through the platform's
 * WebCrypto, which answers on its own thread, so each router is waited for until settled.
 */
const flush = async () => {
  await nextMacrotask();
  await Promise.all([...routers].map((r) => r.settled()));
  await nextMacrotask();
};
const OFFER = { type: 'offer', sdp: 'v=0 offer' };
const ANSWER = { type: 'answer', sdp: 'v=0 answer' };
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'a=candidate:1' } };

class FakeTracker {
  connected = true;
  readonly sent: { to: string; data: Record<string, unknown> }[] = [];
  refuse: RingswarmError | null = null;

  signal(to: string, data: Record<string, unknown>, onRefused: (error: Error) => void): void {
    const refusal = this.refuse;
    // As the real client does: a refusal is heard later, never within the call.
    if (refusal) queueMicrotask(() => onRefused(refusal));
    else this.sent.push({ to, data });
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
function newPool(clock: FakeClock, links: FakeLinkFactory, peerId = SELF): LinkPool {
  return new LinkPool({
    peerId,
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
  const router = new SignalingRouter({ identity: identity('10'), clock, links: pool, tracker });
  routers.add(router);
  const ring = new FakeRing();
  if (options.ring !== false) router.useRing(ring);
  pool.on('overlay-frame', (from, frame) => {
    if (frame[0] === OverlayFrameType.ROUTE) router.handleRouteFrame(from, frame);
  });
  const warnings: Error[] = [];
  router.on('warning', (err) => warnings.push(err));

  /** An open link, set up through verified signals, to a ring member that routes signals (it said HELLO). */
  const neighbour = (id: string): FakePeerLink => {
    const entry = pool.create(id, true, true);
    if (entry) entry.proven = true;
    const link = links.last(id);
    link.open();
    link.receive(HELLO_FRAME);
    return link;
  };
  return { clock, links, pool, tracker, router, ring, warnings, neighbour };
}

const routed = (link: FakePeerLink): RoutedSignal[] =>
  link.sent.filter((f) => f[0] === OverlayFrameType.ROUTE).map((f) => decodeRouteFrame(f));
/** The routed signals sent on `link`, their data read from the signed bodies. */
const routedData = (link: FakePeerLink) => routed(link).map((r) => ({ ...r, data: body(r.data), sid: r.data.sid }));
const trackerTypes = (tracker: FakeTracker) => tracker.sent.flatMap((s) => signalsIn(s.data).map((d) => d.type));

describe('path choice', () => {
  it('signals through the tracker while there is no ring', async () => {
    const { router, links, tracker } = setup({ ring: false });
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await flush();
    expect(tracker.sent).toHaveLength(1);
    const [{ to, data }] = tracker.sent as [{ to: string; data: Record<string, unknown> }];
    expect(to).toBe(TARGET);
    expect(body(data)).toEqual(OFFER);
    expect(data.sid).toMatch(/^[0-9a-f]{16}$/);
    expect(router.stats().signals).toMatchObject({ viaRing: 0, viaTracker: 1 });
  });

  it('signs what it sends: the receiver verifies it as ours, for it', async () => {
    const { router, links, tracker } = setup({ ring: false });
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await flush();
    const remoteLinks = new FakeLinkFactory();
    const remotePool = newPool(new FakeClock(), remoteLinks, TARGET);
    const remoteRouter = new SignalingRouter({
      identity: identity('80'),
      clock: new FakeClock(),
      links: remotePool,
      tracker: new FakeTracker(),
    });
    await remoteRouter.handleSignal(SELF, tracker.sent[0]!.data, 'tracker');
    expect(remoteLinks.last(SELF).signalled).toEqual([OFFER]);
    expect(remoteRouter.stats().signals.refused).toBe(0);
    remoteRouter.destroy();
    remotePool.destroy();
  });

  it('signals through the tracker while this peer has not joined the ring', async () => {
    const { router, ring, tracker, links, neighbour } = setup();
    ring.joined = false;
    const member = neighbour(at('70'));
    expect(router.pathTo(TARGET)).toBe('tracker');
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await flush();
    expect(tracker.sent).toHaveLength(1);
    expect(routed(member)).toEqual([]);
  });

  it('routes greedily to the linked ring member closest before the target', async () => {
    const { router, tracker, links, neighbour } = setup();
    const [before, closer, beyond] = [neighbour(at('40')), neighbour(at('70')), neighbour(at('a0'))];
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await flush();
    expect(routedData(closer)).toEqual([
      { origin: SELF, target: TARGET, hops: 0, data: OFFER, sid: expect.any(String) },
    ]);
    expect(routed(before)).toEqual([]);
    expect(routed(beyond)).toEqual([]);
    expect(tracker.sent).toEqual([]);
    expect(router.stats().signals).toMatchObject({ viaRing: 1, viaTracker: 0 });
  });

  it('falls back to the tracker at once when no linked member makes progress', async () => {
    const { router, tracker, links, neighbour } = setup();
    // Past the target on the circle: handing it the signal would move away from the target.
    const beyond = neighbour(at('a0'));
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    links.last(TARGET).emitSignal(CANDIDATE);
    await flush();
    expect(routed(beyond)).toEqual([]);
    expect(trackerTypes(tracker)).toEqual(['offer', 'candidate']);
  });

  it('hands its own signals to any linked member before it has joined (its bootstrap peer)', async () => {
    const { router, ring, links, neighbour, tracker } = setup();
    ring.joined = false;
    const bootstrap = neighbour(at('a0'));
    router.open(TARGET, false, 'ring');
    links.last(TARGET).emitSignal(OFFER);
    await flush();
    expect(routed(bootstrap).map((s) => s.target)).toEqual([TARGET]);
    expect(tracker.sent).toEqual([]);
  });

  it('signals a peer through the ring again once the tracker refused to relay to it (it never introduced the two)', async () => {
    const { router, links, neighbour } = setup();
    neighbour(at('70'));
    router.open(TARGET, false);
    links.last(TARGET).close(ErrorCode.NO_ROUTE);
    expect(router.pathTo(TARGET)).toBe('tracker');
    // The attempt through the tracker is refused: signaling it that way again would only fail again.
    router.open(TARGET, false);
    links.last(TARGET).close(ErrorCode.NOT_ALLOWED);
    expect(router.pathTo(TARGET)).toBe('ring');
  });

  it('signals a peer whose last link failed through the tracker, for a while', async () => {
    const { router, clock, links, tracker, neighbour } = setup();
    neighbour(at('70'));
    router.open(TARGET, false);
    links.last(TARGET).close(ErrorCode.NO_ROUTE);
    expect(router.pathTo(TARGET)).toBe('tracker');
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await flush();
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

describe('signing order', () => {
  it('sends the signals of a session in order, those made during a signature together under the next', async () => {
    const clock = new FakeClock();
    const links = new FakeLinkFactory();
    const pool = newPool(clock, links);
    const tracker = new FakeTracker();
    const real = identity('10');
    // The first signature takes longest: without a queue the candidates would overtake the offer.
    const delays = [30, 10, 0];
    let calls = 0;
    const slow: PeerIdentity = {
      peerId: real.peerId,
      publicKey: real.publicKey,
      sign: async (message) => {
        const delay = delays[calls++] ?? 0;
        await new Promise((r) => setTimeout(r, delay));
        return real.sign(message);
      },
    };
    const router = new SignalingRouter({ identity: slow, clock, links: pool, tracker });
    router.open(TARGET, false);
    const link = links.last(TARGET);
    link.emitSignal(OFFER);
    await new Promise((r) => setTimeout(r, 5));
    // Made while the offer is being signed: one envelope after it, in order.
    link.emitSignal({ ...CANDIDATE, n: 1 });
    link.emitSignal({ ...CANDIDATE, n: 2 });
    await new Promise((r) => setTimeout(r, 60));
    link.emitSignal({ ...CANDIDATE, n: 3 });
    await new Promise((r) => setTimeout(r, 20));
    expect(tracker.sent.map((s) => body(s.data))).toEqual([
      OFFER,
      [
        { ...CANDIDATE, n: 1 },
        { ...CANDIDATE, n: 2 },
      ],
      { ...CANDIDATE, n: 3 },
    ]);
    expect(calls).toBe(3);
    // The receiver applies them one by one, in the order they were made.
    const remotePool = newPool(clock, links, TARGET);
    const remote = new SignalingRouter({
      identity: identity('80'),
      clock,
      links: remotePool,
      tracker: new FakeTracker(),
    });
    for (const { data } of tracker.sent) await remote.handleSignal(SELF, data, 'tracker');
    expect(links.last(SELF).signalled).toEqual([
      OFFER,
      { ...CANDIDATE, n: 1 },
      { ...CANDIDATE, n: 2 },
      { ...CANDIDATE, n: 3 },
    ]);
    remote.destroy();
    remotePool.destroy();
    router.destroy();
    pool.destroy();
  });

  it('drops the sends still being signed when destroyed', async () => {
    const clock = new FakeClock();
    const links = new FakeLinkFactory();
    const pool = newPool(clock, links);
    const tracker = new FakeTracker();
    const real = identity('10');
    const slow: PeerIdentity = {
      peerId: real.peerId,
      publicKey: real.publicKey,
      sign: async (message) => {
        await new Promise((r) => setTimeout(r, 20));
        return real.sign(message);
      },
    };
    const router = new SignalingRouter({ identity: slow, clock, links: pool, tracker });
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    links.last(TARGET).emitSignal(CANDIDATE);
    router.destroy();
    await new Promise((r) => setTimeout(r, 60));
    expect(tracker.sent).toEqual([]);
    pool.destroy();
  });
});

describe('forwarding routed signals', () => {
  const from = async (
    origin: string,
    target: string,
    hops = 0,
    data: Record<string, unknown> = OFFER,
    sid = 'ab'.repeat(8),
  ) => encodeRouteFrame({ origin, target, hops, data: await signed(origin, data, sid, target) });

  it('passes a signal straight to its target when linked to it, one hop further', async () => {
    const { router, neighbour } = setup();
    const origin = at('05');
    const sender = neighbour(at('08'));
    const target = neighbour(TARGET);
    sender.receive(await from(origin, TARGET, 3));
    await router.settled();
    expect(routedData(target)).toEqual([{ origin, target: TARGET, hops: 4, data: OFFER, sid: 'ab'.repeat(8) }]);
    expect(routed(sender)).toEqual([]);
    expect(router.stats().signals.relayed).toBe(1);
  });

  it('sends answers back along the return hop to a newcomer that is not in the ring', async () => {
    const { router, links, neighbour, tracker } = setup();
    const newcomer = at('f0');
    // The newcomer's bootstrap peer hands us its offer.
    const bootstrap = neighbour(at('f8'));
    bootstrap.receive(await from(newcomer, SELF, 1, OFFER, 'cd'.repeat(8)));
    await router.settled();
    const link = links.last(newcomer);
    expect(link.initiator).toBe(false);
    expect(link.signalled).toEqual([OFFER]);
    expect(router.stats().signals.received).toBe(1);
    // Our answer goes back the way the offer came, though greedy routing would never pick it.
    link.emitSignal(ANSWER);
    await flush();
    expect(routedData(bootstrap)).toEqual([
      { origin: SELF, target: newcomer, hops: 0, data: ANSWER, sid: 'cd'.repeat(8) },
    ]);
    expect(tracker.sent).toEqual([]);
  });

  it('never hands a signal back to the peer it came from', async () => {
    const { router, neighbour } = setup();
    const sender = neighbour(at('70'));
    sender.receive(await from(at('05'), TARGET));
    await router.settled();
    expect(routed(sender)).toEqual([]);
    expect(router.stats().signals).toMatchObject({ relayed: 0, dropped: 1 });
  });

  it('drops a signal at the hop limit, and its own signal coming back', async () => {
    const { router, neighbour } = setup();
    const sender = neighbour(at('08'));
    const next = neighbour(at('70'));
    sender.receive(await from(at('05'), TARGET, ROUTE_MAX_HOPS));
    await router.settled();
    sender.receive(await from(SELF, TARGET));
    await router.settled();
    expect(routed(next)).toEqual([]);
    expect(router.stats().signals).toMatchObject({ relayed: 0, dropped: 2 });
    expect(sender.destroyed).toBe(false);
  });

  it('drops a peer that routes a signal to its own origin, or sends a malformed ROUTE frame', async () => {
    const { router, neighbour, warnings } = setup();
    const looper = neighbour(at('08'));
    looper.receive(await from(at('08'), at('08')));
    await router.settled();
    expect(looper.closeCode).toBe(ErrorCode.ROUTE_LOOP);
    const garbler = neighbour(at('09'));
    garbler.receive(Uint8Array.of(OverlayFrameType.ROUTE, 0x7b));
    expect(garbler.closeCode).toBe(ErrorCode.BAD_FRAME);
    expect(router.stats().peersDropped).toBe(2);
    expect(warnings).toHaveLength(2);
    expect(warnings.every((w) => w instanceof RingswarmError)).toBe(true);
    expect(warnings.map((w) => (w as RingswarmError).code)).toEqual([ErrorCode.ROUTE_LOOP, ErrorCode.BAD_FRAME]);
  });

  it('drops an unsigned ROUTE frame as malformed', () => {
    const { router, neighbour, links } = setup();
    const sender = neighbour(at('08'));
    const unsigned = { origin: at('05'), target: SELF, hops: 0, data: { ...OFFER, sid: 'ab'.repeat(8) } };
    sender.receive(encodeRouteFrame(unsigned as unknown as RoutedSignal));
    expect(sender.closeCode).toBe(ErrorCode.BAD_FRAME);
    expect(() => links.last(at('05'))).toThrow();
    expect(router.stats().signals.received).toBe(0);
  });
});

describe('the replay through the tracker', () => {
  /** A ring member (next to 70) that offered a connection to TARGET through the ring; `prepare` runs before the offer. */
  const offered = async (prepare: (t: ReturnType<typeof setup>) => void = () => {}) => {
    const t = setup();
    const member = t.neighbour(at('70'));
    prepare(t);
    t.router.open(TARGET, false);
    const link = t.links.last(TARGET);
    link.emitSignal(OFFER);
    await flush();
    return { ...t, member, link };
  };

  it('sends every signal again through the tracker when the remote does not answer through the ring in 1.5 s', async () => {
    const { clock, tracker, member, link } = await offered();
    link.emitSignal(CANDIDATE);
    await flush();
    expect(routed(member)).toHaveLength(2);
    clock.advance(RING_SIGNAL_ANSWER_MS - 1);
    expect(tracker.sent).toEqual([]);
    clock.advance(1);
    expect(trackerTypes(tracker)).toEqual(['offer', 'candidate']);
    const sid = routed(member)[0]!.data.sid;
    expect(tracker.sent.every((s) => s.to === TARGET && s.data.sid === sid)).toBe(true);
    // From now on, this connection's signals take the tracker.
    link.emitSignal(CANDIDATE);
    await flush();
    expect(tracker.sent).toHaveLength(3);
    expect(routed(member)).toHaveLength(2);
  });

  it('waits 4 s for a connection the remote answered through the ring, then replays it through the tracker', async () => {
    const { router, clock, tracker, member, link } = await offered();
    const sid = routed(member)[0]!.data.sid;
    await router.handleSignal(TARGET, await signed(TARGET, ANSWER, sid), 'ring');
    expect(link.signalled).toEqual([ANSWER]);
    // Answered: ICE may still be trying, and the ring path works.
    clock.advance(RING_SIGNAL_FALLBACK_MS - 1);
    expect(tracker.sent).toEqual([]);
    clock.advance(1);
    expect(trackerTypes(tracker)).toEqual(['offer']);
  });

  it('replays nothing for a link that opened in time', async () => {
    const { clock, tracker, link } = await offered();
    link.open();
    clock.advance(10 * RING_SIGNAL_FALLBACK_MS);
    expect(tracker.sent).toEqual([]);
  });

  it('replays at once when the remote answers through the tracker', async () => {
    const { router, tracker, member, link } = await offered();
    const sid = routed(member)[0]!.data.sid;
    await router.handleSignal(TARGET, await signed(TARGET, ANSWER, sid), 'tracker');
    expect(trackerTypes(tracker)).toEqual(['offer']);
    expect(link.signalled).toEqual([ANSWER]);
  });

  it('keeps to the ring when the tracker is gone', async () => {
    const { clock, tracker } = await offered((t) => {
      t.tracker.connected = false;
    });
    clock.advance(RING_SIGNAL_FALLBACK_MS);
    expect(tracker.sent).toEqual([]);
  });

  it('keeps to the ring when the tracker will not relay the replay (it never introduced the two)', async () => {
    const { clock, warnings, member, link } = await offered((t) => {
      t.tracker.refuse = new RingswarmError(ErrorCode.NOT_ALLOWED, 'the tracker did not introduce these peers');
    });
    clock.advance(RING_SIGNAL_ANSWER_MS);
    await flush();
    link.emitSignal(CANDIDATE); // sent while the replay is out: through the tracker only
    await flush();
    expect(link.destroyed).toBe(false);
    expect(warnings.map((w) => (w as RingswarmError).code)).toContain(ErrorCode.NOT_ALLOWED);
    // What went through the tracker alone went through the ring again, and so does what follows.
    link.emitSignal(CANDIDATE);
    await flush();
    expect(routed(member).map((r) => JSON.parse(r.data.body).type)).toEqual(['offer', 'candidate', 'candidate']);
    expect(link.destroyed).toBe(false);
  });

  it('closes the link at once when the tracker does not know the target of a replay', async () => {
    const { clock, link } = await offered((t) => {
      t.tracker.refuse = new RingswarmError(ErrorCode.UNKNOWN_PEER, 'not connected');
    });
    clock.advance(RING_SIGNAL_ANSWER_MS);
    await flush();
    expect(link.closeCode).toBe(ErrorCode.UNKNOWN_PEER);
  });

  it('closes the link with the code the tracker refused a signal with', async () => {
    const { router, links, tracker, warnings } = setup({ ring: false });
    tracker.refuse = new RingswarmError(ErrorCode.UNKNOWN_PEER, 'not connected');
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await flush(); // lets the signature and the fake tracker's refusal reach their handlers
    expect(links.last(TARGET).closeCode).toBe(ErrorCode.UNKNOWN_PEER);
    expect(warnings.map((w) => (w as RingswarmError).code)).toEqual([ErrorCode.UNKNOWN_PEER]);
  });
});

describe('signals that are dropped', () => {
  const opened = async () => {
    const t = setup({ ring: false });
    t.router.open(TARGET, false);
    const link = t.links.last(TARGET);
    link.emitSignal(OFFER);
    await flush();
    const sid = t.tracker.sent[0]!.data.sid as string;
    return { ...t, link, sid };
  };

  it('applies the answer once, and ignores an offer to the side that offered', async () => {
    const { router, link, sid } = await opened();
    await router.handleSignal(TARGET, await signed(TARGET, ANSWER, sid), 'tracker');
    await router.handleSignal(TARGET, await signed(TARGET, ANSWER, sid), 'ring');
    await router.handleSignal(TARGET, await signed(TARGET, OFFER, sid), 'tracker');
    await router.handleSignal(TARGET, await signed(TARGET, CANDIDATE, sid), 'ring');
    expect(link.signalled).toEqual([ANSWER, CANDIDATE]);
  });

  it('drops candidates and answers of another session, and signals without a valid session id', async () => {
    const { router, link, links, sid } = await opened();
    await router.handleSignal(TARGET, await signed(TARGET, ANSWER, 'ee'.repeat(8)), 'tracker');
    await router.handleSignal(TARGET, await signed(TARGET, CANDIDATE, 'ee'.repeat(8)), 'tracker');
    await router.handleSignal(TARGET, { ...(await signed(TARGET, CANDIDATE, sid)), sid: undefined }, 'tracker');
    await router.handleSignal(TARGET, { ...(await signed(TARGET, CANDIDATE, sid)), sid: sid.toUpperCase() }, 'tracker');
    await router.handleSignal(TARGET, { ...(await signed(TARGET, OFFER, sid)), sid: 'short' }, 'tracker');
    await router.handleSignal(SELF, await signed(SELF, OFFER, 'ee'.repeat(8)), 'tracker');
    expect(link.signalled).toEqual([]);
    expect(links.made).toHaveLength(1);
  });

  it('replaces a connection when the remote starts a new session', async () => {
    const { router, links, pool } = setup({ ring: false });
    await router.handleSignal(TARGET, await signed(TARGET, OFFER, '11'.repeat(8)), 'tracker');
    const old = links.last(TARGET);
    const closes: boolean[] = [];
    pool.on('link-close', (_id, _code, _hash, failed) => closes.push(failed));
    await router.handleSignal(TARGET, await signed(TARGET, OFFER, '22'.repeat(8)), 'tracker');
    const fresh = links.last(TARGET);
    expect(fresh).not.toBe(old);
    expect(old.destroyed).toBe(true);
    expect(closes).toEqual([false]);
    expect(fresh.signalled).toEqual([OFFER]);
    // The old session's late candidates reach nobody.
    await router.handleSignal(TARGET, await signed(TARGET, CANDIDATE, '11'.repeat(8)), 'tracker');
    expect(fresh.signalled).toEqual([OFFER]);
    // Nor does its offer played again replace the new connection.
    await router.handleSignal(TARGET, await signed(TARGET, OFFER, '11'.repeat(8)), 'tracker');
    expect(links.last(TARGET)).toBe(fresh);
    expect(fresh.destroyed).toBe(false);
  });

  it('settles offers made at once: the lower peer ID keeps its own', async () => {
    // We are SELF (0x10...); a higher ID yields to us.
    const high = setup({ ring: false });
    high.router.open(TARGET, false);
    await high.router.handleSignal(TARGET, await signed(TARGET, OFFER, '33'.repeat(8)), 'tracker');
    expect(high.links.made).toHaveLength(1);
    expect(high.links.last(TARGET).destroyed).toBe(false);
    // A lower ID keeps its offer: we yield and answer it.
    const lower = at('01');
    const low = setup({ ring: false });
    low.router.open(lower, false);
    await low.router.handleSignal(lower, await signed(lower, OFFER, '33'.repeat(8)), 'tracker');
    expect(low.links.made).toHaveLength(2);
    expect(low.links.made[0]!.destroyed).toBe(true);
    expect(low.links.last(lower).initiator).toBe(false);
  });

  it('the side that yields sends what it had queued for its own link over the remote’s', async () => {
    const lower = at('01');
    const t = setup({ ring: false });
    // A ring request goes out while our own connection is still being made…
    const request = new Uint8Array([OverlayFrameType.RING, 1, 2, 3]);
    t.router.open(lower, true)!.link.send(request);
    const ours = t.links.last(lower);
    // …and the remote's offer crosses ours: our link closes, the request must not go with it.
    await t.router.handleSignal(lower, await signed(lower, OFFER, '33'.repeat(8)), 'tracker');
    expect(ours.destroyed).toBe(true);
    const theirs = t.links.last(lower);
    expect(theirs).not.toBe(ours);
    expect(theirs.sent).toEqual([request]);
    expect(ours.takeUnsent()).toEqual([]);
  });
});

describe('signals that do not verify are refused', () => {
  const SID = '55'.repeat(8);
  /** We answered TARGET's offer and the link is open; then each attempt comes as a new session. */
  const linked = async () => {
    const t = setup({ ring: false });
    await t.router.handleSignal(TARGET, await signed(TARGET, OFFER, SID), 'tracker');
    const link = t.links.last(TARGET);
    link.open();
    return { ...t, link };
  };
  const codes = (warnings: Error[]) => warnings.map((w) => (w as RingswarmError).code);

  const tamperings: [string, (genuine: SignalEnvelope) => Promise<[from: string, envelope: unknown]>][] = [
    ['origin', async (g) => [at('40'), g]],
    ['target', async () => [TARGET, await signed(TARGET, OFFER, '66'.repeat(8), at('40'))]],
    ['sid', async (g) => [TARGET, { ...g, sid: '77'.repeat(8) }]],
    ['body', async (g) => [TARGET, { ...g, body: g.body.replace('offer"', 'offer","x":1') }]],
    // The attacker signs with its own key: a valid signature, but not TARGET's key.
    ['key', async () => [TARGET, { ...(await signed(at('e0'), OFFER, '66'.repeat(8))) }]],
    ['signature', async (g) => [TARGET, { ...g, sig: (g.sig[0] === '0' ? '1' : '0') + g.sig.slice(1) }]],
    ['nothing signed', async () => [TARGET, { ...OFFER, sid: '66'.repeat(8) }]],
  ];

  for (const [field, tamper] of tamperings) {
    it(`refuses an offer with a tampered ${field}: the open link stays, nothing new is made`, async () => {
      const { router, link, links, warnings } = await linked();
      const genuine = await signed(TARGET, OFFER, '66'.repeat(8));
      const [from, envelope] = await tamper(genuine);
      await router.handleSignal(from, envelope, 'tracker');
      expect(link.destroyed).toBe(false);
      expect(links.made).toHaveLength(1);
      expect(router.stats().signals.refused).toBe(1);
      expect(codes(warnings)).toEqual([ErrorCode.BAD_SIGNATURE]);
      // The genuine one still works (the checks refuse the tampering, not the peer).
      if (field === 'target' || field === 'key' || field === 'nothing signed') return;
      await router.handleSignal(TARGET, genuine, 'tracker');
      expect(links.made).toHaveLength(2);
    });
  }

  it('refuses a tampered candidate of the current session: the link is not fed', async () => {
    const { router, link } = await linked();
    const genuine = await signed(TARGET, CANDIDATE, SID);
    await router.handleSignal(TARGET, { ...genuine, body: genuine.body.replace('1', '2') }, 'tracker');
    expect(link.signalled).toEqual([OFFER]);
    await router.handleSignal(TARGET, genuine, 'tracker');
    expect(link.signalled).toEqual([OFFER, CANDIDATE]);
    expect(router.stats().signals.refused).toBe(1);
  });

  it('neither delivers a forged ROUTE frame as its origin’s nor learns a return hop from it', async () => {
    const { router, links, neighbour, warnings } = setup();
    const newcomer = at('f0');
    const bootstrap = neighbour(at('f8'));
    const forger = neighbour(at('e0'));
    bootstrap.receive(
      encodeRouteFrame({ origin: newcomer, target: SELF, hops: 1, data: await signed(newcomer, OFFER, SID) }),
    );
    await router.settled();
    const link = links.last(newcomer);
    // The forger claims the newcomer's ID, signing with its own key, in a new session.
    const forged = await signed(at('e0'), OFFER, '66'.repeat(8));
    forger.receive(encodeRouteFrame({ origin: newcomer, target: SELF, hops: 0, data: forged }));
    await router.settled();
    // ...and replays the newcomer's genuine offer, re-labelled with another session id.
    const genuine = await signed(newcomer, OFFER, '77'.repeat(8));
    forger.receive(
      encodeRouteFrame({ origin: newcomer, target: SELF, hops: 0, data: { ...genuine, sid: '88'.repeat(8) } }),
    );
    await router.settled();
    expect(links.last(newcomer)).toBe(link);
    expect(link.destroyed).toBe(false);
    expect(router.stats().signals).toMatchObject({ received: 1, refused: 2 });
    expect(codes(warnings)).toEqual([ErrorCode.BAD_SIGNATURE, ErrorCode.BAD_SIGNATURE]);
    // Our answer still takes the newcomer's real return hop.
    link.emitSignal(ANSWER);
    await flush();
    expect(routed(forger)).toEqual([]);
    expect(routed(bootstrap).map((r) => r.target)).toEqual([newcomer]);
    expect(forger.destroyed).toBe(false);
  });

  it('refuses, as a hop, to forward or learn from a frame that does not verify', async () => {
    const { router, neighbour } = setup();
    // Greedy routing towards the victim would never pick the forger (0x40...), only a return hop could.
    const forger = neighbour(at('40'));
    const target = neighbour(TARGET);
    const victim = at('f0');
    forger.receive(
      encodeRouteFrame({ origin: victim, target: TARGET, hops: 0, data: await signed(at('40'), OFFER, SID, TARGET) }),
    );
    await router.settled();
    expect(routed(target)).toEqual([]);
    expect(router.stats().signals).toMatchObject({ relayed: 0, refused: 1 });
    // A signal for the victim does not go to the forger (no return hop was learned).
    const next = neighbour(at('e0'));
    target.receive(
      encodeRouteFrame({ origin: TARGET, target: victim, hops: 0, data: await signed(TARGET, ANSWER, SID, victim) }),
    );
    await router.settled();
    expect(routed(forger)).toEqual([]);
    expect(routed(next).map((r) => r.target)).toEqual([victim]);
  });
});

describe('proven links', () => {
  it('marks the links it makes from verified offers and answers as proven', async () => {
    const { router, pool, links, tracker } = setup({ ring: false });
    await router.handleSignal(TARGET, await signed(TARGET, OFFER, '99'.repeat(8)), 'tracker');
    expect(pool.get(TARGET)?.proven).toBe(true);
    const other = at('40');
    const entry = router.open(other, false)!;
    links.last(other).emitSignal(OFFER);
    await flush();
    const sid = tracker.sent.find((s) => s.to === other)!.data.sid as string;
    // A forged answer proves nothing; the signed one does.
    await router.handleSignal(other, await signed(at('e0'), ANSWER, sid), 'tracker');
    expect(entry.proven).toBe(false);
    await router.handleSignal(other, await signed(other, ANSWER, sid), 'tracker');
    expect(entry.proven).toBe(true);
  });

  it('refuses ring frames on a link whose remote has not proved its ID', () => {
    const { pool, links } = setup();
    const overlay: string[] = [];
    pool.on('overlay-frame', (from) => overlay.push(from));
    pool.create(at('40'), true, true);
    const link = links.last(at('40'));
    link.open();
    link.receive(HELLO_FRAME);
    expect(link.closeCode).toBe(ErrorCode.BAD_SIGNATURE);
    expect(overlay).toEqual([]);
    expect([...pool.routablePeers()]).toEqual([]);
  });
});

describe('destroy', () => {
  it('stops every replay timer, emits close last, ignores signals after, and is idempotent', async () => {
    const { router, pool, clock, links, tracker, neighbour } = setup();
    neighbour(at('70'));
    router.open(TARGET, false);
    links.last(TARGET).emitSignal(OFFER);
    await flush();
    const events: string[] = [];
    router.on('close', () => events.push('close'));
    router.on('warning', () => events.push('warning'));
    router.destroy();
    router.destroy();
    expect(events).toEqual(['close']);
    await router.handleSignal(at('99'), await signed(at('99'), OFFER, '44'.repeat(8)), 'tracker');
    expect(() => links.last(at('99'))).toThrow();
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
    const router = new SignalingRouter({ identity: identity('10'), clock, links: pool, tracker: new FakeTracker() });
    expect(added).toHaveLength(1);
    router.destroy();
    router.destroy();
    expect(removed).toEqual(added);
    pool.destroy();
  });
});
