import { ErrorCode, TrackerFeature } from '@ringswarm/shared';
import {
  INTRODUCTION_WINDOW_MS,
  type RunningServer,
  SIGNAL_TARGET_BURST,
  SIGNALS_PER_TARGET_PER_S,
  startServer,
} from '@ringswarm/signaling-server';
import { pino } from 'pino';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { identitiesAt } from '../helpers/identities.js';
import { announce, emit, randomInfoHash, SocketPool } from '../helpers/tracker-socket.js';

/** The tracker relays a signal only between peers it introduced to each other, at a bounded rate per target. */
describe('signal relay between introduced peers only', () => {
  let server: RunningServer | undefined;
  let pool: SocketPool;
  let clock = 1_800_000_000_000;

  afterEach(async () => {
    pool.closeAll();
    await server?.close();
    server = undefined;
  });

  const start = async (limits: Partial<Record<'rateLimitPerS' | 'rateBurst' | 'rateStrikes', number>> = {}) => {
    clock = 1_800_000_000_000;
    server = await startServer(
      // Per-socket limits out of the way by default: the per-target limit is what is under test.
      { port: 0, host: '127.0.0.1', rateLimitPerS: 100_000, rateBurst: 100_000, maxSignalBytes: 1_000, ...limits },
      // random 0: ring samples are the members in join order, so who is named to whom is known.
      { logger: pino({ level: 'silent' }), now: () => clock, random: () => 0 },
    );
    // Handshake proofs are stamped with the server's clock, which this test moves.
    pool = new SocketPool(server.url, () => clock);
    return server;
  };

  const signal = (from: Socket, to: string, data: Record<string, unknown> = { type: 'offer' }) =>
    emit(from, 'signal', { to, data });
  const received = (socket: Socket) => {
    const got: unknown[] = [];
    socket.on('signal', (msg: unknown) => got.push(msg));
    return got;
  };

  it('refuses a signal to a connected peer the tracker never introduced, swarm mates included', async () => {
    await start();
    const s = await pool.peer();
    const t = await pool.peer();
    const got = received(t.socket);
    expect(await signal(s.socket, t.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(await signal(t.socket, s.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    // Being in one swarm is not an introduction: the announce answer must have named the other.
    const swarm = randomInfoHash();
    expect(
      await emit(s.socket, 'announce', {
        discoveryKey: swarm,
        event: 'started',
        left: 0,
        uploaded: 0,
        downloaded: 0,
        numwant: 0,
      }),
    ).toMatchObject({ ok: true, peers: [] });
    expect(
      await emit(t.socket, 'announce', {
        discoveryKey: swarm,
        event: 'started',
        left: null,
        uploaded: 0,
        downloaded: 0,
        numwant: 0,
      }),
    ).toMatchObject({ ok: true, peers: [] });
    expect(await signal(s.socket, t.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(got).toEqual([]);
  });

  /** Keys whose peer IDs start with chosen bytes, so the members' ring order is known. */
  const placed = identitiesAt([
    ...Array.from({ length: 11 }, (_, i) => `1${i.toString(16)}`),
    ...Array.from({ length: 11 }, (_, i) => `a${i.toString(16)}`),
    '01',
    '80',
  ]);
  const keyAt = (prefix: string) => placed.get(prefix)!;
  /** A ring member whose peer ID starts with the byte `prefix`. */
  const member = async (prefix: string) => {
    const p = await pool.peer(keyAt(prefix));
    expect(await emit(p.socket, 'ring:bootstrap', { k: 1 })).toMatchObject({ ok: true });
    return p;
  };

  it('a bootstrap introduces the joiner to its ring neighbours, not to every member', async () => {
    await start();
    // Eleven members on each arc between 01… and 80…: more than RING_NEIGHBOURS_INTRODUCED.
    for (let i = 0; i < 11; i++) await member(`1${i.toString(16)}`);
    for (let i = 0; i < 11; i++) await member(`a${i.toString(16)}`);
    const s = await member('01');
    const t = await member('80');
    const got = received(t.socket);
    // Both ring members, never named to each other, far apart on the ring: no relay. (Any
    // ring member could signal every other one before.)
    expect(await signal(s.socket, t.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(await signal(t.socket, s.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    // Its eight successors and eight predecessors it may signal, though the bootstrap answer
    // named only the first member; the ones further along it may not.
    const id = (prefix: string) => keyAt(prefix).peerId;
    for (const near of ['a0', 'a7', '1a', '13']) expect(await signal(t.socket, id(near)), near).toEqual({ ok: true });
    for (const far of ['a8', '12', '11']) {
      expect(await signal(t.socket, id(far)), far).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    }
    expect(await signal(t.socket, id('10'))).toEqual({ ok: true });
    expect(await signal(s.socket, id('17'))).toEqual({ ok: true });
    expect(await signal(s.socket, id('a3'))).toEqual({ ok: true });
    expect(await signal(s.socket, id('a2'))).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(got).toEqual([]);
  });

  it('lets S signal T after an announce answer named T, and T answer S, until the window ends', async () => {
    const srv = await start();
    const swarm = randomInfoHash();
    const t = await pool.peer();
    const s = await pool.peer();
    const outsider = await pool.peer();
    expect(await announce(t.socket, swarm, 0)).toMatchObject({ ok: true, peers: [] });
    expect(await announce(s.socket, swarm, null)).toMatchObject({ ok: true, peers: [t.id] });
    const atT = received(t.socket);
    const atS = received(s.socket);
    expect(await signal(s.socket, t.id, { type: 'offer', sdp: 'v=0' })).toEqual({ ok: true });
    // T was never given S in an answer, but S was given T: the reply goes through too.
    expect(await signal(t.socket, s.id, { type: 'answer', sdp: 'v=0' })).toEqual({ ok: true });
    await expect.poll(() => atT.length).toBe(1);
    await expect.poll(() => atS.length).toBe(1);
    expect(atT[0]).toEqual({ from: s.id, data: { type: 'offer', sdp: 'v=0' } });
    expect(atS[0]).toEqual({ from: t.id, data: { type: 'answer', sdp: 'v=0' } });
    // Someone else, even one who knows both IDs, may not.
    expect(await signal(outsider.socket, t.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(srv.traffic.relayed.signal).toBeGreaterThan(0);

    // Past the window the introduction has lapsed; a fresh announce answer renews it.
    clock += INTRODUCTION_WINDOW_MS + 1;
    expect(await signal(s.socket, t.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(await signal(t.socket, s.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(await announce(t.socket, swarm, 0, 'update')).toMatchObject({ ok: true, peers: [s.id] });
    expect(await signal(s.socket, t.id)).toEqual({ ok: true });
  });

  it('a ring:bootstrap answer introduces the caller to the members it names, both ways', async () => {
    await start();
    const member = await pool.peer();
    const joiner = await pool.peer();
    const bystander = await pool.peer();
    expect(await emit(member.socket, 'ring:bootstrap', { k: 4 })).toEqual({ ok: true, peers: [] });
    expect(await emit(joiner.socket, 'ring:bootstrap', { k: 4 })).toEqual({ ok: true, peers: [member.id] });
    const atMember = received(member.socket);
    const atJoiner = received(joiner.socket);
    expect(await signal(joiner.socket, member.id, { type: 'offer' })).toEqual({ ok: true });
    expect(await signal(member.socket, joiner.id, { type: 'answer' })).toEqual({ ok: true });
    await expect.poll(() => atMember).toEqual([{ from: joiner.id, data: { type: 'offer' } }]);
    await expect.poll(() => atJoiner).toEqual([{ from: member.id, data: { type: 'answer' } }]);
    // Not a member, never named: refused either way.
    expect(await signal(bystander.socket, member.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
    expect(await signal(member.socket, bystander.id)).toMatchObject({ ok: false, code: ErrorCode.NOT_ALLOWED });
  });

  it('limits the signals one target receives from all senders together', async () => {
    await start();
    const swarm = randomInfoHash();
    const target = await pool.peer();
    expect(await announce(target.socket, swarm, 0)).toMatchObject({ ok: true });
    const senders = await Promise.all([pool.peer(), pool.peer(), pool.peer(), pool.peer()]);
    for (const s of senders) {
      const res = await announce(s.socket, swarm, null);
      expect(res.ok && res.peers).toContain(target.id);
    }
    const other = await pool.peer();
    expect(await announce(other.socket, swarm, null)).toMatchObject({ ok: true });
    const got = received(target.socket);
    // The clock stands still: the burst is all there is, shared by every sender.
    const acks = await Promise.all(
      Array.from({ length: SIGNAL_TARGET_BURST + 20 }, (_, i) =>
        signal(senders[i % senders.length]!.socket, target.id, { type: 'candidate', i }),
      ),
    );
    const ok = acks.filter((a) => a.ok).length;
    expect(ok).toBe(SIGNAL_TARGET_BURST);
    expect(acks.filter((a) => !a.ok && a.code === ErrorCode.RATE_LIMITED)).toHaveLength(20);
    await expect.poll(() => got.length).toBe(SIGNAL_TARGET_BURST);
    // Another target is not affected, and the senders stay connected.
    const toOther = await signal(senders[0]!.socket, other.id);
    expect(toOther).toEqual({ ok: true });
    expect(senders.every((s) => s.socket.connected)).toBe(true);
    // One second later, that second's share comes back, and no more.
    clock += 1_000;
    const next = await Promise.all(
      Array.from({ length: SIGNALS_PER_TARGET_PER_S + 5 }, () => signal(senders[1]!.socket, target.id)),
    );
    expect(next.filter((a) => a.ok)).toHaveLength(SIGNALS_PER_TARGET_PER_S);
  });

  describe('signals without an ack', () => {
    /** Refusals this socket hears by `signal:refused`. */
    const refusals = (socket: Socket) => {
      const got: unknown[] = [];
      socket.on('signal:refused', (msg: unknown) => got.push(msg));
      return got;
    };
    /**
     * A server with these limits and two peers it introduced (`s`'s announce answer named
     * `t`), with what `t` receives and the refusals `s` hears.
     */
    const startIntroducedPair = async (limits?: Parameters<typeof start>[0]) => {
      await start(limits);
      const swarm = randomInfoHash();
      const t = await pool.peer();
      expect(await announce(t.socket, swarm, 0)).toMatchObject({ ok: true });
      const s = await pool.peer();
      const res = await announce(s.socket, swarm, null);
      expect(res.ok && res.peers).toEqual([t.id]);
      return { s, t, got: received(t.socket), refused: refusals(s.socket) };
    };

    it('the tracker says first that it takes them', async () => {
      await start();
      const p = await pool.peer();
      expect(await p.hello).toEqual({ features: [TrackerFeature.SIGNAL_WITHOUT_ACK] });
    });

    it('relays one between introduced peers, stamped with the sender, and sends nothing back', async () => {
      const { s, t, got, refused } = await startIntroducedPair();
      const outsider = await pool.peer();
      s.socket.emit('signal', { to: t.id, data: { type: 'offer', n: 1 } });
      // Then one that is refused, through the same path: the first would have been answered before it.
      s.socket.emit('signal', { to: outsider.id, data: { type: 'offer' } });
      await expect.poll(() => refused.length).toBe(1);
      expect(refused).toEqual([{ to: outsider.id, code: ErrorCode.NOT_ALLOWED, message: expect.any(String) }]);
      expect(got).toEqual([{ from: s.id, data: { type: 'offer', n: 1 } }]);
    });

    it('refuses one to a peer the tracker never introduced, naming the target, and relays nothing', async () => {
      const { t, got } = await startIntroducedPair();
      const outsider = await pool.peer();
      const refused = refusals(outsider.socket);
      outsider.socket.emit('signal', { to: t.id, data: { type: 'offer', sdp: 'forged' } });
      await expect.poll(() => refused.length).toBe(1);
      expect(refused[0]).toMatchObject({ to: t.id, code: ErrorCode.NOT_ALLOWED });
      // A request with an ack behind it is answered in order: the refused one was never relayed.
      expect(await emit(outsider.socket, 'scrape', { discoveryKeys: [randomInfoHash()] })).toMatchObject({ ok: true });
      expect(got).toEqual([]);
      expect(outsider.socket.connected).toBe(true);
    });

    it('answers an unreadable one with its error code, names the target only when it is a peer ID, and keeps serving', async () => {
      const { s, t, got, refused } = await startIntroducedPair();
      s.socket.emit('signal', { to: 'not-a-peer-id', data: {} });
      s.socket.emit('signal', { to: t.id, data: 'not an object' });
      s.socket.emit('signal', 'not even an object');
      s.socket.emit('signal', { to: t.id, data: { sdp: 'x'.repeat(5_000) } });
      s.socket.emit('signal', { to: s.id, data: {} });
      await expect.poll(() => refused.length).toBe(5);
      expect(refused).toEqual([
        { code: ErrorCode.INVALID_PAYLOAD, message: expect.any(String) },
        { to: t.id, code: ErrorCode.INVALID_PAYLOAD, message: expect.any(String) },
        { code: ErrorCode.INVALID_PAYLOAD, message: expect.any(String) },
        { to: t.id, code: ErrorCode.PAYLOAD_TOO_LARGE, message: expect.any(String) },
        { to: s.id, code: ErrorCode.NOT_ALLOWED, message: expect.any(String) },
      ]);
      s.socket.emit('signal', { to: t.id, data: { type: 'offer' } });
      await expect.poll(() => got.length).toBe(1);
      expect(s.socket.connected).toBe(true);
    });

    it('refuses those past the per-target limit as rate limited, and relays exactly the burst', async () => {
      const { s, t, got, refused } = await startIntroducedPair();
      for (let i = 0; i < SIGNAL_TARGET_BURST + 20; i++) s.socket.emit('signal', { to: t.id, data: { i } });
      await expect.poll(() => got.length + refused.length).toBe(SIGNAL_TARGET_BURST + 20);
      expect(got).toHaveLength(SIGNAL_TARGET_BURST);
      expect(refused).toHaveLength(20);
      expect(refused.every((r) => (r as { to?: string; code?: string }).to === t.id)).toBe(true);
      expect(refused.every((r) => (r as { code?: string }).code === ErrorCode.RATE_LIMITED)).toBe(true);
    });

    it("answers them past the socket's own event limit too, then disconnects a flood", async () => {
      const { s, t, got, refused } = await startIntroducedPair({ rateLimitPerS: 5, rateBurst: 5, rateStrikes: 3 });
      // Its announce above took one of the five; the clock stands still.
      for (let i = 0; i < 6; i++) s.socket.emit('signal', { to: t.id, data: { i } });
      await expect.poll(() => got.length + refused.length).toBe(6);
      expect(got).toHaveLength(4);
      expect(refused).toEqual([
        { to: t.id, code: ErrorCode.RATE_LIMITED, message: expect.any(String) },
        { to: t.id, code: ErrorCode.RATE_LIMITED, message: expect.any(String) },
      ]);
      for (let i = 0; i < 3; i++) s.socket.emit('signal', { to: t.id, data: { i } });
      await expect.poll(() => s.socket.connected).toBe(false);
      expect(t.socket.connected).toBe(true);
    });
  });
});
