import {
  ErrorCode,
  type RingLookupResult,
  type RingMessage,
  RingNode,
  RingRpc,
  type RingRpcReply,
  type RingRpcRequest,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';

const TIMEOUT = 1_000;

function rpcOn(clock: FakeClock, retries = 1) {
  const sent: { to: bigint; msg: RingRpcRequest }[] = [];
  const rpc = new RingRpc({ clock, send: (to, msg) => sent.push({ to, msg }) }, { timeoutMs: TIMEOUT, retries });
  return { rpc, sent };
}

describe('RingRpc on a fake clock', () => {
  it('resends after a timeout and takes the answer to the resend', () => {
    const clock = new FakeClock();
    const { rpc, sent } = rpcOn(clock);
    const replies: (RingRpcReply | null)[] = [];
    rpc.request(5n, { type: 'ping' }, ['pong'], (r) => replies.push(r));
    expect(sent).toEqual([{ to: 5n, msg: { type: 'ping', rid: 1 } }]);
    clock.advance(TIMEOUT - 1);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    expect(sent[1]).toEqual({ to: 5n, msg: { type: 'ping', rid: 2 } });
    expect(replies).toEqual([]);
    // A late answer to the first send no longer counts; the answer to the resend does.
    rpc.settle(5n, { type: 'pong', rid: 1, predecessor: null });
    expect(replies).toEqual([]);
    rpc.settle(5n, { type: 'pong', rid: 2, predecessor: 7n });
    expect(replies).toEqual([{ type: 'pong', rid: 2, predecessor: 7n }]);
    expect(rpc.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('ignores an answer from another node or of a type the request does not take', () => {
    const clock = new FakeClock();
    const { rpc } = rpcOn(clock);
    const replies: (RingRpcReply | null)[] = [];
    rpc.request(5n, { type: 'ping' }, ['pong'], (r) => replies.push(r));
    rpc.settle(6n, { type: 'pong', rid: 1, predecessor: null });
    rpc.settle(5n, { type: 'dht-put-reply', rid: 1, ok: true });
    rpc.settle(5n, { type: 'found', rid: 1, done: true, nodes: [] });
    expect(replies).toEqual([]);
    expect(rpc.pending).toBe(1);
  });

  it('gives up with null after the retries: one send plus one per retry', () => {
    const clock = new FakeClock();
    const { rpc, sent } = rpcOn(clock, 2);
    const replies: (RingRpcReply | null)[] = [];
    rpc.request(5n, { type: 'dht-get', key: 9n }, ['dht-get-reply'], (r) => replies.push(r));
    clock.advance(3 * TIMEOUT - 1);
    expect(replies).toEqual([]);
    clock.advance(1);
    expect(replies).toEqual([null]);
    expect(sent.map((s) => s.msg.rid)).toEqual([1, 2, 3]);
    expect(rpc.pending).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('abandon() fails every request to that one node at once, oldest first', () => {
    const clock = new FakeClock();
    const { rpc } = rpcOn(clock);
    const log: string[] = [];
    rpc.request(5n, { type: 'ping' }, ['pong'], (r) => log.push(`ping 5: ${r?.type ?? null}`));
    rpc.request(6n, { type: 'ping' }, ['pong'], (r) => log.push(`ping 6: ${r?.type ?? null}`));
    rpc.request(5n, { type: 'dht-get', key: 9n }, ['dht-get-reply'], (r) => log.push(`get 5: ${r?.type ?? null}`));
    rpc.abandon(5n);
    expect(log).toEqual(['ping 5: null', 'get 5: null']);
    // The request to 6 still waits, with its own timer.
    expect(rpc.pending).toBe(1);
    expect(clock.pending).toBe(1);
    rpc.settle(6n, { type: 'pong', rid: 2, predecessor: null });
    expect(log).toEqual(['ping 5: null', 'get 5: null', 'ping 6: pong']);
  });

  it('destroy() is idempotent, clears every timer and runs no callback afterwards', () => {
    const clock = new FakeClock();
    const { rpc, sent } = rpcOn(clock);
    const replies: (RingRpcReply | null)[] = [];
    rpc.request(5n, { type: 'ping' }, ['pong'], (r) => replies.push(r));
    rpc.destroy();
    rpc.destroy();
    expect(clock.pending).toBe(0);
    rpc.settle(5n, { type: 'pong', rid: 1, predecessor: null });
    rpc.abandon(5n);
    rpc.request(5n, { type: 'ping' }, ['pong'], (r) => replies.push(r));
    clock.advance(10 * TIMEOUT);
    expect(replies).toEqual([]);
    expect(sent).toHaveLength(1);
  });
});

describe('RingNode requests on a fake clock (m = 8)', () => {
  /** Node 10 with successors 50 and 100; nobody else exists, so nothing is ever answered. */
  function lonelyNode(clock: FakeClock) {
    const sent: { to: bigint; msg: RingMessage }[] = [];
    const node = new RingNode(
      { id: 10n, send: (to, msg) => sent.push({ to, msg }), clock, random: () => 0.5 },
      { bits: 8, successors: 2, maintenance: false, rpcTimeoutMs: TIMEOUT, rpcRetries: 1 },
    );
    node.restore({ predecessor: 200n, successors: [50n, 100n], fingers: [] });
    return { node, sent };
  }

  it('a lookup whose every request times out, after the retries, fails with ERR_RING_LOOKUP_FAILED', () => {
    const clock = new FakeClock();
    const { node, sent } = lonelyNode(clock);
    let result: RingLookupResult | undefined;
    node.lookup(150n, (r) => {
      result = r;
    });
    clock.advance(4 * TIMEOUT - 1);
    expect(result).toBeUndefined();
    clock.advance(1);
    // Closest to 150 first: 100 twice (a send and its retry), then 50 twice.
    expect(sent.map((s) => [s.msg.type, s.to])).toEqual([
      ['find', 100n],
      ['find', 100n],
      ['find', 50n],
      ['find', 50n],
    ]);
    expect(result).toMatchObject({ owner: null, owners: [], hops: 0, timeouts: 2 });
    expect(result?.error?.code).toBe(ErrorCode.RING_LOOKUP_FAILED);
    expect(clock.pending).toBe(0);
  });

  it('abandon() moves a lookup on at once instead of at the end of the timeout', () => {
    const clock = new FakeClock();
    const { node, sent } = lonelyNode(clock);
    node.lookup(150n, () => {});
    expect(sent.map((s) => s.to)).toEqual([100n]);
    node.abandon(100n);
    expect(sent.map((s) => s.to)).toEqual([100n, 50n]);
    // 100 is taken for dead: a second lookup starts from 50 alone.
    sent.length = 0;
    node.lookup(150n, () => {});
    expect(sent.map((s) => s.to)).toEqual([50n]);
  });
});
