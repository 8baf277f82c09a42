/**
 * TrackerClient on a fake socket and a fake clock: the reconnect backoff runs on the given
 * clock, a final refusal stops it, inbound signals are validated, signals go without an ack
 * only to a tracker that said it takes them so, and destroy clears the pending reconnect and
 * emits close last. (tracker-failover.test.ts runs the same client
 * against real servers.)
 */
import {
  backoffDelayMs,
  checkTrackerAuth,
  ErrorCode,
  type HandshakeAuth,
  MAX_AWAITED_REFUSALS,
  RingswarmError,
  randomIdentity,
  TrackerClient,
  TrackerFeature,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { newPeerId } from '../helpers/fake-link.js';
import { FakeTrackerSockets } from '../helpers/fake-tracker-socket.js';
import { until } from '../helpers/until.js';

describe('the tracker client on a fake socket', () => {
  const clients: TrackerClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  function setup(urls: string[]) {
    const clock = new FakeClock();
    const factory = new FakeTrackerSockets();
    const sockets = factory.made;
    const identity = randomIdentity();
    const peerId = identity.peerId;
    const random = () => 0.5;
    const client = new TrackerClient(urls, identity, {
      clock,
      random,
      createSocket: factory.create,
      reconnectBaseMs: 100,
      reconnectMaxMs: 1_000,
    });
    clients.push(client);
    return { clock, sockets, client, peerId, random };
  }

  it('opens one websocket-only socket per attempt, with its own reconnection off', async () => {
    const { sockets, peerId } = setup(['http://a.test']);
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.url).toBe('http://a.test');
    // auth is a function: socket.io calls it on every connect, and each call signs anew.
    const auth = sockets[0]!.options.auth;
    if (typeof auth !== 'function') throw new Error('auth should be a function');
    const sign = () => new Promise<HandshakeAuth>((resolve) => auth((a: object) => resolve(a as HandshakeAuth)));
    const [first, second] = [await sign(), await sign()];
    expect(first.peerId).toBe(peerId);
    expect(checkTrackerAuth(first, Date.now())).toBeNull();
    expect(checkTrackerAuth(second, Date.now())).toBeNull();
    expect(second.nonce).not.toBe(first.nonce);
    expect(sockets[0]!.options).toMatchObject({
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
  });

  it('moves to the next URL after the backoff, on the given clock', () => {
    const { clock, sockets, client, random } = setup(['http://a.test', 'http://b.test']);
    const connects: string[] = [];
    client.on('connect', () => connects.push(client.url));
    sockets[0]!.fire('connect_error', new Error('refused'));
    expect(sockets[0]!.disconnected).toBe(true);
    const delay = backoffDelayMs(0, random, 100, 1_000);
    clock.advance(delay - 1);
    expect(sockets).toHaveLength(1);
    clock.advance(1);
    expect(sockets.map((s) => s.url)).toEqual(['http://a.test', 'http://b.test']);
    sockets[1]!.fire('connect');
    expect(connects).toEqual(['http://b.test']);
    expect(client.connected).toBe(true);
  });

  it('stops after a refusal that trying again cannot help', () => {
    const { clock, sockets, client } = setup(['http://a.test', 'http://b.test']);
    const errors: string[] = [];
    client.on('error', (err) => errors.push(err.code));
    const refusal = Object.assign(new Error('wrong version'), { data: { code: ErrorCode.VERSION_MISMATCH } });
    sockets[0]!.fire('connect_error', refusal);
    expect(errors).toEqual([ErrorCode.VERSION_MISMATCH]);
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('passes on only signals that validate', () => {
    const { sockets, client } = setup(['http://a.test']);
    const from = newPeerId();
    const got: unknown[] = [];
    client.on('signal', (msg) => got.push(msg));
    sockets[0]!.fire('signal', { from, data: { type: 'offer' } });
    sockets[0]!.fire('signal', { from: 'not-a-peer-id', data: {} });
    sockets[0]!.fire('signal', { from, data: 'x', extra: 1 });
    expect(got).toEqual([{ from, data: { type: 'offer' } }]);
  });

  it('destroy clears a pending reconnect, emits close last, and is idempotent', () => {
    const { clock, sockets, client } = setup(['http://a.test', 'http://b.test']);
    sockets[0]!.fire('connect_error', new Error('refused'));
    expect(clock.pending).toBe(1);
    const events: string[] = [];
    for (const e of ['connect', 'disconnect', 'error', 'signal', 'close'] as const) client.on(e, () => events.push(e));
    client.destroy();
    client.destroy();
    expect(events).toEqual(['close']);
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(sockets).toHaveLength(1);
    expect(client.connected).toBe(false);
  });

  describe('signals without an ack', () => {
    const HELLO = { features: [TrackerFeature.SIGNAL_WITHOUT_ACK] };
    const refusals = () => {
      const heard: [string, RingswarmError][] = [];
      return { heard, on: (to: string) => (err: RingswarmError) => heard.push([to, err]) };
    };

    it('asks for an ack until the hello names the feature, then sends without one', async () => {
      const { sockets, client } = setup(['http://a.test']);
      const socket = sockets[0]!;
      socket.fire('connect');
      const [a, b] = [newPeerId(), newPeerId()];
      const { heard, on } = refusals();
      client.signal(a, { type: 'offer' }, on(a));
      socket.fire('hello', { features: ['something-else'] });
      // Malformed hellos name nothing.
      socket.fire('hello', { features: TrackerFeature.SIGNAL_WITHOUT_ACK });
      socket.fire('hello', TrackerFeature.SIGNAL_WITHOUT_ACK);
      client.signal(a, { type: 'answer' }, on(a));
      socket.fire('hello', HELLO);
      client.signal(b, { type: 'offer' }, on(b));
      expect(socket.emitted.map((e) => [e.event, e.ack])).toEqual([
        ['signal', true],
        ['signal', true],
        ['signal', false],
      ]);
      expect(socket.emitted[2]!.payload).toEqual({ to: b, data: { type: 'offer' } });
      await Promise.resolve();
      expect(heard).toEqual([]);
    });

    it('tells the last sender to a target of its refusal, once, and ignores the rest', () => {
      const { sockets, client } = setup(['http://a.test']);
      const socket = sockets[0]!;
      socket.fire('connect');
      socket.fire('hello', HELLO);
      const [a, b, never] = [newPeerId(), newPeerId(), newPeerId()];
      const { heard, on } = refusals();
      client.signal(a, { n: 1 }, on('a1'));
      client.signal(a, { n: 2 }, on('a2'));
      client.signal(b, { n: 3 }, on('b'));
      // Malformed, naming nobody, or naming a peer this client never signaled: nobody hears.
      socket.fire('signal:refused', { to: a, code: 'not-a-code', message: 'x' });
      socket.fire('signal:refused', { to: a, code: ErrorCode.NOT_ALLOWED, message: 'x', extra: true });
      socket.fire('signal:refused', { code: ErrorCode.INVALID_PAYLOAD, message: 'unreadable' });
      socket.fire('signal:refused', { to: never, code: ErrorCode.NOT_ALLOWED, message: 'x' });
      expect(heard).toEqual([]);
      socket.fire('signal:refused', { to: a, code: ErrorCode.NOT_ALLOWED, message: 'not introduced' });
      socket.fire('signal:refused', { to: a, code: ErrorCode.NOT_ALLOWED, message: 'again' });
      expect(heard.map(([who, err]) => [who, err.code, err.message])).toEqual([
        ['a2', ErrorCode.NOT_ALLOWED, 'not introduced'],
      ]);
      expect(heard[0]![1]).toBeInstanceOf(RingswarmError);
    });

    it(`listens for at most ${MAX_AWAITED_REFUSALS} targets' refusals, forgetting the oldest`, () => {
      const { sockets, client } = setup(['http://a.test']);
      const socket = sockets[0]!;
      socket.fire('connect');
      socket.fire('hello', HELLO);
      const targets = Array.from({ length: MAX_AWAITED_REFUSALS + 1 }, () => newPeerId());
      const { heard, on } = refusals();
      for (const to of targets) client.signal(to, {}, on(to));
      for (const to of targets) socket.fire('signal:refused', { to, code: ErrorCode.RATE_LIMITED, message: 'slow' });
      expect(heard.map(([to]) => to)).toEqual(targets.slice(1));
    });

    it('asks for an ack again on the next socket, and drops the refusals the last one owed', async () => {
      const { clock, sockets, client, random } = setup(['http://a.test', 'http://b.test']);
      sockets[0]!.fire('connect');
      sockets[0]!.fire('hello', HELLO);
      const to = newPeerId();
      const { heard, on } = refusals();
      client.signal(to, {}, on('old'));
      sockets[0]!.fire('disconnect', 'transport close');
      clock.advance(backoffDelayMs(0, random, 100, 1_000));
      const next = sockets[1]!;
      next.fire('connect');
      next.fire('signal:refused', { to, code: ErrorCode.NOT_ALLOWED, message: 'x' });
      expect(heard).toEqual([]);
      client.signal(to, {}, on('new'));
      expect(next.emitted.map((e) => e.ack)).toEqual([true]);
      await Promise.resolve();
      expect(heard).toEqual([]);
    });

    it('tells of a signal it cannot send while reconnecting, with ERR_TIMEOUT', async () => {
      const { sockets, client } = setup(['http://a.test', 'http://b.test']);
      sockets[0]!.fire('connect');
      sockets[0]!.fire('hello', HELLO);
      sockets[0]!.fire('disconnect', 'transport close');
      const { heard, on } = refusals();
      client.signal(newPeerId(), {}, on('x'));
      await until(() => heard.length === 1, 1_000, 'the refusal');
      expect(heard[0]![1].code).toBe(ErrorCode.TIMEOUT);
      expect(sockets[0]!.emitted).toEqual([]);
    });
  });
});
