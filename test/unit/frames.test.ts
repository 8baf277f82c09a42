/**
 * The byte-0 registry: its handshake layout is the one the swarm codec writes, so the link
 * pool reads the right infohash without the codec.
 */
import {
  encodeMessage,
  handshakeInfoHash,
  isOverlayFrame,
  isSwarmFrame,
  MessageType,
  OverlayFrameType,
  SWARM_HANDSHAKE,
} from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

describe('the frame registry', () => {
  it('reads the infohash of any handshake the swarm codec writes', () => {
    fc.assert(
      fc.property(hex(32), hex(20), fc.integer({ min: 0, max: 255 }), (infoHash, peerId, version) => {
        const frame = encodeMessage({ type: 'handshake', version, infoHash, peerId });
        expect(frame.byteLength).toBe(SWARM_HANDSHAKE.length);
        expect(frame[0]).toBe(SWARM_HANDSHAKE.type);
        expect(handshakeInfoHash(frame)).toBe(infoHash);
      }),
    );
    expect(SWARM_HANDSHAKE.type).toBe(MessageType.HANDSHAKE);
  });

  it('reads no infohash from anything but a whole handshake', () => {
    const frame = encodeMessage({ type: 'handshake', version: 1, infoHash: 'ab'.repeat(32), peerId: 'cd'.repeat(20) });
    expect(handshakeInfoHash(frame.subarray(0, frame.byteLength - 1))).toBeNull();
    expect(handshakeInfoHash(Uint8Array.of(...frame, 0))).toBeNull();
    expect(handshakeInfoHash(encodeMessage({ type: 'have', index: 1 }))).toBeNull();
    expect(handshakeInfoHash(new Uint8Array(0))).toBeNull();
  });

  it('puts every swarm message in the swarm range and every overlay frame in the overlay range', () => {
    for (const type of Object.values(MessageType)) {
      expect(isSwarmFrame(Uint8Array.of(type)) && !isOverlayFrame(Uint8Array.of(type))).toBe(true);
    }
    for (const type of Object.values(OverlayFrameType)) {
      expect(isOverlayFrame(Uint8Array.of(type)) && !isSwarmFrame(Uint8Array.of(type))).toBe(true);
    }
  });
});
