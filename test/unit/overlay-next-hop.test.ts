/**
 * Where a routed signal goes next at one member (Overlay.nextHopTowards): towards the target
 * as ring routing goes, and, for a leaf between two members, to whichever of the two may
 * hold it (a leaf attaches to the member after its ID when the one before has no room).
 */
import { Overlay, RingSpace } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';

const space = new RingSpace();
const hex = (n: bigint) => space.toHex(n);

describe('Overlay.nextHopTowards', () => {
  const overlays: Overlay[] = [];
  afterEach(() => {
    for (const o of overlays.splice(0)) o.destroy();
  });

  /** A member at `id` with the given predecessor and successors, and no maintenance running. */
  function member(id: bigint, predecessor: bigint, successors: bigint[]): Overlay {
    const overlay = new Overlay({
      peerId: hex(id),
      clock: new FakeClock(),
      random: () => 0.5,
      transport: { send: () => true, isOpen: () => true, linked: () => [], connect: () => {}, drop: () => {} },
      bootstrap: async () => [],
    });
    overlays.push(overlay);
    overlay.node.restore({ predecessor, successors, fingers: [] });
    overlay.node.stopMaintenance();
    return overlay;
  }

  it('goes to the linked node closest before the target, or to the target itself', () => {
    const m = member(50n, 10n, [100n, 200n]);
    expect(m.nextHopTowards(hex(150n), [hex(10n), hex(100n), hex(200n)])).toBe(hex(100n));
    expect(m.nextHopTowards(hex(60n), [hex(60n), hex(100n)])).toBe(hex(60n));
  });

  it('hands a target just after it that it has no link to on to its successor, which may hold it as a leaf', () => {
    const before = member(50n, 10n, [100n, 200n]);
    // Routing towards 60 ends here: no linked member is closer before it.
    expect(before.nextHopTowards(hex(60n), [hex(10n), hex(100n), hex(200n)])).toBe(hex(100n));
    expect(before.nextHopTowards(hex(60n), [hex(10n), hex(200n)])).toBeNull();
  });

  it('sends a target just before it on to its predecessor only, and nowhere when the predecessor handed it here', () => {
    const after = member(100n, 50n, [200n, 300n]);
    // From elsewhere: the predecessor may know 60 (a leaf of its, or a member new to us).
    expect(after.nextHopTowards(hex(60n), [hex(50n), hex(200n), hex(300n)])).toBe(hex(50n));
    // Handed on by 50, which has no link to it either: round the ring again (to 300, the
    // linked node closest before 60 going round) would only bring it back.
    expect(after.nextHopTowards(hex(60n), [hex(200n), hex(300n)])).toBeNull();
  });
});
