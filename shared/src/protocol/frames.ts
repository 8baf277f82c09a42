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
 * needs the other protocol's codec. The one swarm frame such code must read is the
 * handshake, whose discovery key says which swarm a new link is for; its layout is fixed
 * here, and the swarm codec writes it at the same offsets. (The handshake never carries the
 * infohash: a peer proves it holds it with the capability frame that follows.)
 */

import { toHex } from '../util/bytes.js';
import { CAPABILITY_NONCE_BYTES } from './capability.js';

/** First and last type byte of the swarm protocol's frames. */
export const SWARM_FRAMES = { first: 0x10, last: 0x1f } as const;
/** First and last type byte of the overlay's frames (ring messages, routed signals). */
export const OVERLAY_FRAMES = { first: 0x20, last: 0x2f } as const;

/**
 * The swarm handshake, the first frame each side of a link sends: `[0] type, [1] version,
 * [2..34) discovery key, [34..54) peer ID, [54..86) nonce`, 86 bytes in all. The nonce is
 * fresh for every link ({@link CAPABILITY_NONCE_BYTES} bytes); both nonces go into the
 * capability proofs.
 */
export const SWARM_HANDSHAKE = {
  /** Its type byte (the first of the swarm range). */
  type: 0x10,
  versionOffset: 1,
  discoveryKeyOffset: 2,
  peerIdOffset: 34,
  nonceOffset: 54,
  /** The whole frame's length in bytes. */
  length: 54 + CAPABILITY_NONCE_BYTES,
} as const;

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

/**
 * The discovery key (64 hex digits) a swarm handshake names; null when the frame is not a
 * handshake of the right length. Nothing else in the frame is checked: the swarm that takes
 * the link decodes the whole handshake again.
 */
export function handshakeDiscoveryKey(frame: Uint8Array): string | null {
  if (frame[0] !== SWARM_HANDSHAKE.type || frame.byteLength !== SWARM_HANDSHAKE.length) return null;
  return toHex(frame.subarray(SWARM_HANDSHAKE.discoveryKeyOffset, SWARM_HANDSHAKE.peerIdOffset));
}
