/**
 * The byte-0 registry of the PeerLink data channel. Every frame starts with a type byte, and
 * the type space is split into ranges, one per protocol that shares the channel:
 *
 * | range     | owner   | codec                 |
 * |-----------|---------|-----------------------|
 * | 0x10-0x1f | swarm   | `swarm/wire-codec.ts` |
 * | 0x20-0x2f | overlay | `net/overlay-wire.ts` |
 *
 * Code that only routes frames (the link pool, the overlay) classifies them here and never
 * needs the other protocol's codec.
 */

/** First and last type byte of the swarm protocol's frames. */
export const SWARM_FRAMES = { first: 0x10, last: 0x1f } as const;
/** First and last type byte of the overlay's frames (ring messages, routed signals). */
export const OVERLAY_FRAMES = { first: 0x20, last: 0x2f } as const;

function inRange(frame: Uint8Array, range: { first: number; last: number }): boolean {
  const type = frame[0];
  return type !== undefined && type >= range.first && type <= range.last;
}

/** True when a frame's leading byte belongs to the swarm protocol. */
export function isSwarmFrame(frame: Uint8Array): boolean {
  return inRange(frame, SWARM_FRAMES);
}

/** True when a frame's leading byte belongs to the overlay. */
export function isOverlayFrame(frame: Uint8Array): boolean {
  return inRange(frame, OVERLAY_FRAMES);
}
