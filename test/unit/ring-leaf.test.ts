import type { RingAttachRefusal, RingMessage } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { Harness, rid } from '../helpers/ring-harness.js';

/** A node outside the ring (ID 60) with a successor list of 2, routing its lookups. */
function outsider(): { h: Harness; outcome: () => RingAttachRefusal | null | 'pending' } {
  const h = new Harness(60n, { routing: 'recursive' });
  let outcome: RingAttachRefusal | null | 'pending' = 'pending';
  h.node.attach(10n, (refusal) => {
    outcome = refusal;
  });
  return { h, outcome: () => outcome };
}

/** Answers the routed lookup of the outsider's own ID: the owner 100, its successors, its predecessor 50. */
function answerRoute(h: Harness, owners: bigint[], predecessor: bigint | null): void {
  const [route] = h.take();
  expect(route).toMatchObject({ to: 10n, msg: { type: 'route', key: 60n, path: [60n] } });
  h.node.handle(10n, { type: 'routed', rid: rid(route!.msg), owners, path: [60n, 10n, owners[0]!], predecessor });
}

/** A leaf of gateway 50 (owners of its ID: 100, 200). */
function leaf(): Harness {
  const { h } = outsider();
  answerRoute(h, [100n, 200n, 30n], 50n);
  const [attach] = h.take();
  h.node.handle(50n, { type: 'attach-ack', rid: rid(attach!.msg), ok: true, successors: [100n, 200n] });
  return h;
}

/** A member (ID 50: predecessor 10, successors 100 and 200) that takes `maxLeaves` leaves, all linked. */
function member(maxLeaves: number): Harness {
  const h = new Harness(50n, { routing: 'recursive', maxLeaves }, { hasLink: () => true });
  h.node.restore({ predecessor: 10n, successors: [100n, 200n], fingers: [] });
  h.take();
  return h;
}

const only = (h: Harness): { to: bigint; msg: RingMessage } => {
  const sent = h.take();
  expect(sent).toHaveLength(1);
  return sent[0]!;
};

describe('a leaf of the ring', () => {
  it('attaches to the member just before its ID and routes every lookup through it', () => {
    const { h, outcome } = outsider();
    answerRoute(h, [100n, 200n, 30n], 50n);
    // The owner's predecessor is where routing towards 60 ends: it is asked, not the owner.
    const attach = only(h);
    expect(attach).toMatchObject({ to: 50n, msg: { type: 'attach' } });
    h.node.handle(50n, { type: 'attach-ack', rid: rid(attach.msg), ok: true, successors: [100n, 200n] });
    expect(outcome()).toBeNull();
    expect(h.node.joined).toBe(true);
    expect(h.node.leaf).toBe(true);
    expect(h.node.gateway).toBe(50n);
    expect(h.node.successors).toEqual([100n, 200n]);
    // A key that 100 owns by the leaf's own list still goes through the gateway.
    h.node.lookup(80n, () => {});
    expect(only(h)).toMatchObject({ to: 50n, msg: { type: 'route', key: 80n, path: [60n] } });
    // A get rides the routed lookup; the owner's values come back with its answer.
    let values: string[] | undefined;
    h.node.lookup(80n, (r) => (values = r.values), {}, true);
    const get = only(h);
    expect(get).toMatchObject({ to: 50n, msg: { type: 'route', key: 80n, get: true } });
    h.node.handle(50n, {
      type: 'routed',
      rid: rid(get.msg),
      owners: [100n, 200n],
      path: [60n, 50n, 100n],
      predecessor: 50n,
      values: ['cd'.repeat(20)],
    });
    expect(values).toEqual(['cd'.repeat(20)]);
    // Leaving says nothing to anyone: the gateway sees the link close.
    h.node.leave();
    expect(h.take()).toEqual([]);
  });

  it('joins instead where the ring is small, or where neither member around its ID has room', () => {
    const small = outsider();
    answerRoute(small.h, [100n, 200n], 50n);
    expect(small.outcome()).toBe('small');
    expect(small.h.node.joined).toBe(false);
    expect(small.h.take()).toEqual([]);

    const full = outsider();
    answerRoute(full.h, [100n, 200n, 30n], 50n);
    const attach = only(full.h);
    full.h.node.handle(50n, { type: 'attach-ack', rid: rid(attach.msg), ok: false, successors: [100n, 200n] });
    const after = only(full.h);
    expect(after).toMatchObject({ to: 100n, msg: { type: 'attach' } });
    full.h.node.handle(100n, { type: 'attach-ack', rid: rid(after.msg), ok: false, successors: [200n, 30n] });
    expect(full.outcome()).toBe('full');
    expect(full.h.node.joined).toBe(false);
    expect(full.h.take()).toEqual([]);
  });

  it('attaches where a successor list of 8 shows the whole ring and it has more than 4 members; joins one of 4, and a short list that is not all of the ring', () => {
    const outsider8 = () => {
      const h = new Harness(60n, { routing: 'recursive', successors: 8 });
      let outcome: RingAttachRefusal | null | 'pending' = 'pending';
      h.node.attach(10n, (refusal) => {
        outcome = refusal;
      });
      return { h, outcome: () => outcome };
    };
    // Six members (30, 50, 100, 120, 150, 200): the owner's list reaches round to its predecessor 50.
    const six = outsider8();
    answerRoute(six.h, [100n, 120n, 150n, 200n, 30n, 50n], 50n);
    const attach = only(six.h);
    expect(attach).toMatchObject({ to: 50n, msg: { type: 'attach' } });
    six.h.node.handle(50n, {
      type: 'attach-ack',
      rid: rid(attach.msg),
      ok: true,
      successors: [100n, 120n, 150n, 200n, 30n],
    });
    expect(six.outcome()).toBeNull();
    expect(six.h.node.leaf).toBe(true);
    // Four members: small, joined.
    const four = outsider8();
    answerRoute(four.h, [100n, 200n, 30n, 50n], 50n);
    expect(four.outcome()).toBe('small');
    expect(four.h.take()).toEqual([]);
    // Five owners that do not reach round to 50: a neighbourhood under repair, joined as before.
    const repairing = outsider8();
    answerRoute(repairing.h, [100n, 120n, 150n, 200n, 230n], 50n);
    expect(repairing.outcome()).toBe('small');
    // The whole ring of six, but the member asked knows fewer than four others: joined.
    const thin = outsider8();
    answerRoute(thin.h, [100n, 120n, 150n, 200n, 30n, 50n], 50n);
    const asked = only(thin.h);
    thin.h.node.handle(50n, { type: 'attach-ack', rid: rid(asked.msg), ok: true, successors: [100n, 120n, 150n] });
    expect(thin.outcome()).toBe('small');
    expect(thin.h.node.joined).toBe(false);
  });

  it('attaches to the member after its ID when the one before has no room, and keeps to the two around it', () => {
    const { h, outcome } = outsider();
    answerRoute(h, [100n, 200n, 30n], 50n);
    const first = only(h);
    h.node.handle(50n, { type: 'attach-ack', rid: rid(first.msg), ok: false, successors: [100n, 200n] });
    const second = only(h);
    expect(second).toMatchObject({ to: 100n, msg: { type: 'attach' } });
    h.node.handle(100n, { type: 'attach-ack', rid: rid(second.msg), ok: true, successors: [200n, 30n] });
    expect(outcome()).toBeNull();
    expect(h.node.gateway).toBe(100n);
    // The owners of its ID: the gateway itself, then its successors.
    expect(h.node.successors).toEqual([100n, 200n]);
    // A member joined before it (55): the gateway after it is still next to it.
    h.advance(60_000);
    const check = only(h);
    expect(check).toMatchObject({ to: 100n, msg: { type: 'get-state' } });
    h.node.handle(100n, { type: 'state', rid: rid(check.msg), predecessor: 55n, successors: [200n, 30n] });
    expect(h.take()).toEqual([]);
    expect(h.node.gateway).toBe(100n);
    // One joined between it and its gateway (70): routing towards 60 no longer reaches 100.
    h.advance(60_000);
    const again = only(h);
    h.node.handle(100n, { type: 'state', rid: rid(again.msg), predecessor: 70n, successors: [200n, 30n] });
    const move = only(h);
    expect(move).toMatchObject({ to: 70n, msg: { type: 'attach' } });
    h.node.handle(70n, { type: 'attach-ack', rid: rid(move.msg), ok: true, successors: [100n, 200n] });
    expect(h.node.gateway).toBe(70n);
    expect(h.node.successors).toEqual([70n, 100n]);
  });

  it('asks the closer member a refusing gateway names between the two', () => {
    const { h, outcome } = outsider();
    answerRoute(h, [100n, 200n, 30n], 50n);
    const first = only(h);
    h.node.handle(50n, { type: 'attach-ack', rid: rid(first.msg), ok: false, successors: [55n, 100n] });
    const second = only(h);
    expect(second).toMatchObject({ to: 55n, msg: { type: 'attach' } });
    h.node.handle(55n, { type: 'attach-ack', rid: rid(second.msg), ok: true, successors: [100n, 200n] });
    expect(outcome()).toBeNull();
    expect(h.node.gateway).toBe(55n);
  });

  it('moves to a member that joined between its gateway and it, and is outside the ring once its gateway is lost', () => {
    const h = leaf();
    let detached = 0;
    h.node.on('detached', () => detached++);
    h.advance(60_000);
    const check = only(h);
    expect(check).toMatchObject({ to: 50n, msg: { type: 'get-state' } });
    h.node.handle(50n, { type: 'state', rid: rid(check.msg), predecessor: 10n, successors: [55n, 100n] });
    const move = only(h);
    expect(move).toMatchObject({ to: 55n, msg: { type: 'attach' } });
    h.node.handle(55n, { type: 'attach-ack', rid: rid(move.msg), ok: true, successors: [100n, 200n] });
    expect(h.node.gateway).toBe(55n);
    // The old gateway's link going is nothing to it now; the new one's is.
    h.node.abandon(50n);
    expect(detached).toBe(0);
    h.node.abandon(55n);
    expect(detached).toBe(1);
    expect(h.node.joined).toBe(false);
    expect(h.node.leaf).toBe(false);
  });

  it('answers no ring request as a member would, and tells a node that took it for its predecessor', () => {
    const h = leaf();
    h.node.handle(70n, { type: 'route', rid: 9, key: 65n, path: [70n] });
    expect(only(h)).toMatchObject({ to: 70n, msg: { type: 'routed', rid: 9, owners: [] } });
    h.node.handle(70n, { type: 'join', rid: 10 });
    expect(h.take()).toEqual([]);
    // A JOIN of ours reached 100 before we attached: it tells us of its successors as a predecessor.
    h.node.handle(100n, { type: 'successors', successors: [200n] });
    expect(only(h)).toEqual({ to: 100n, msg: { type: 'leave', predecessor: 50n, successors: [] } });
  });
});

describe('a member with leaves', () => {
  it('takes leaves that lie just after or just before it, up to its room', () => {
    const h = member(1);
    h.node.handle(60n, { type: 'attach', rid: 1 });
    expect(only(h)).toEqual({ to: 60n, msg: { type: 'attach-ack', rid: 1, ok: true, successors: [100n, 200n] } });
    expect(h.node.hasLeaf(60n)).toBe(true);
    expect(h.node.leafCount).toBe(1);
    h.node.handle(70n, { type: 'attach', rid: 2 });
    expect(only(h)).toMatchObject({ msg: { type: 'attach-ack', ok: false } });
    // Outside (50, 100): routing towards it does not end here.
    h.node.handle(150n, { type: 'attach', rid: 3 });
    expect(only(h)).toMatchObject({ msg: { type: 'attach-ack', ok: false } });
    expect(h.node.hasLeaf(150n)).toBe(false);
    // Between its predecessor 10 and it: routing ends at 10, which hands it on here.
    const roomy = member(2);
    roomy.node.handle(30n, { type: 'attach', rid: 4 });
    expect(only(roomy)).toMatchObject({ msg: { type: 'attach-ack', ok: true } });
    expect(roomy.node.hasLeaf(30n)).toBe(true);
    roomy.node.handle(5n, { type: 'attach', rid: 5 });
    expect(only(roomy)).toMatchObject({ msg: { type: 'attach-ack', ok: false } });
  });

  it("routes a leaf's request as its first hop, not as one handed on to the key's successor", () => {
    const h = member(4);
    h.node.handle(60n, { type: 'attach', rid: 1 });
    h.take();
    // 150 is 200's. Taken as handed on from 60 to the key's successor (150 lies in (60, 50)
    // going round), it would be sent back to our predecessor 10, and on back round the ring.
    h.node.handle(60n, { type: 'route', rid: 5, key: 150n, path: [60n] });
    expect(only(h)).toMatchObject({ to: 100n, msg: { type: 'route', rid: 5, key: 150n, path: [60n, 50n] } });
  });

  it('answers a routed get with its DHT values, and hands one it does not own on as a get', () => {
    const h = member(4);
    const provider = 'ab'.repeat(20);
    h.node.answerGetsWith((key) => (key === 30n ? [provider] : []));
    h.node.handle(60n, { type: 'attach', rid: 1 });
    h.take();
    h.node.handle(60n, { type: 'route', rid: 7, key: 30n, path: [60n], get: true });
    expect(only(h)).toMatchObject({
      to: 60n,
      msg: { type: 'routed', rid: 7, owners: [50n, 100n, 200n], values: [provider] },
    });
    // Not a get: no values, as before.
    h.node.handle(60n, { type: 'route', rid: 8, key: 30n, path: [60n] });
    expect(only(h).msg).not.toHaveProperty('values');
    h.node.handle(60n, { type: 'route', rid: 9, key: 150n, path: [60n], get: true });
    expect(only(h)).toMatchObject({ to: 100n, msg: { type: 'route', key: 150n, path: [60n, 50n], get: true } });
  });

  it("takes a leaf's look at its state for no claim to be its predecessor", () => {
    const h = member(4);
    h.node.handle(60n, { type: 'attach', rid: 1 });
    h.take();
    h.node.handle(60n, { type: 'get-state', rid: 2 });
    // Only the answer: no ping to the predecessor to see whether 60 should replace it.
    expect(only(h)).toEqual({
      to: 60n,
      msg: { type: 'state', rid: 2, predecessor: 10n, successors: [100n, 200n] },
    });
    expect(h.node.predecessor).toBe(10n);
  });
});
