import {
  decodeRingFrame,
  decodeRouteFrame,
  encodeRingFrame,
  encodeRouteFrame,
  isOverlayFrame,
  isSwarmFrame,
  MAX_OVERLAY_FRAME_BYTES,
  nextHop,
  OverlayFrameType,
  RingSpace,
  ROUTE_MAX_HOPS,
} from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const json = (type: number, text: string) => Uint8Array.of(type, ...new TextEncoder().encode(text));

describe('overlay frames', () => {
  it('round-trips a routed signal and a ring message', () => {
    const data = {
      sid: '01'.repeat(8),
      body: '{"type":"offer","sdp":"v=0"}',
      key: 'c'.repeat(64),
      sig: 'd'.repeat(128),
    };
    const signal = { origin: A, target: B, hops: 3, data };
    const frame = encodeRouteFrame(signal);
    expect(frame[0]).toBe(OverlayFrameType.ROUTE);
    expect(isOverlayFrame(frame) && !isSwarmFrame(frame)).toBe(true);
    expect(decodeRouteFrame(frame)).toEqual(signal);
    expect(decodeRingFrame(encodeRingFrame({ type: 'ping', rid: 7 }))).toEqual({ type: 'ping', rid: 7 });
  });

  it.each([
    ['not JSON', json(OverlayFrameType.ROUTE, '{oops')],
    ['not UTF-8', Uint8Array.of(OverlayFrameType.ROUTE, 0xff, 0xfe)],
    ['a bad origin', json(OverlayFrameType.ROUTE, JSON.stringify({ origin: 'x', target: B, hops: 0, data: {} }))],
    [
      'an upper-case target',
      json(OverlayFrameType.ROUTE, JSON.stringify({ origin: A, target: B.toUpperCase(), hops: 0, data: {} })),
    ],
    [
      'too many hops',
      json(OverlayFrameType.ROUTE, JSON.stringify({ origin: A, target: B, hops: ROUTE_MAX_HOPS + 1, data: {} })),
    ],
    ['negative hops', json(OverlayFrameType.ROUTE, JSON.stringify({ origin: A, target: B, hops: -1, data: {} }))],
    [
      'data that is not an object',
      json(OverlayFrameType.ROUTE, JSON.stringify({ origin: A, target: B, hops: 0, data: 'sdp' })),
    ],
    [
      'data that is not a signed envelope',
      json(
        OverlayFrameType.ROUTE,
        JSON.stringify({ origin: A, target: B, hops: 0, data: { type: 'offer', sdp: 'x' } }),
      ),
    ],
    [
      'an extra field',
      json(OverlayFrameType.ROUTE, JSON.stringify({ origin: A, target: B, hops: 0, data: {}, via: A })),
    ],
  ])('refuses a ROUTE frame with %s (ERR_BAD_FRAME)', (_, frame) => {
    expect(() => decodeRouteFrame(frame)).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
  });

  it('refuses an oversized frame before parsing it', () => {
    const frame = new Uint8Array(MAX_OVERLAY_FRAME_BYTES + 1);
    frame[0] = OverlayFrameType.RING;
    expect(() => decodeRingFrame(frame)).toThrow(expect.objectContaining({ code: 'ERR_BAD_FRAME' }));
  });
});

describe('nextHop', () => {
  const space = new RingSpace(8);

  it('goes straight to the target when linked, else to the closest node before it', () => {
    expect(nextHop(space, 10n, 200n, [50n, 200n, 150n])).toBe(200n);
    expect(nextHop(space, 10n, 200n, [50n, 150n, 220n])).toBe(150n);
    // 220 lies past the target: it would have to go almost all the way round.
    expect(nextHop(space, 10n, 200n, [220n])).toBeNull();
    // Wrapping past zero.
    expect(nextHop(space, 250n, 20n, [5n, 100n])).toBe(5n);
  });

  it('always makes progress: the hop is strictly closer to the target than this node', () => {
    const id = fc.integer({ min: 0, max: 255 }).map(BigInt);
    fc.assert(
      fc.property(id, id, fc.array(id, { maxLength: 20 }), (self, target, candidates) => {
        fc.pre(self !== target);
        const hop = nextHop(space, self, target, candidates);
        if (hop === null) {
          for (const c of candidates)
            expect(c === self || space.distance(c, target) >= space.distance(self, target)).toBe(true);
        } else {
          expect(space.distance(hop, target)).toBeLessThan(space.distance(self, target));
          for (const c of candidates)
            if (c !== self) expect(space.distance(hop, target) <= space.distance(c, target)).toBe(true);
        }
      }),
    );
  });
});
