/**
 * The byte-0 registry: its handshake layout is the one the swarm codec writes, so the link
 * pool reads the right discovery key without the codec.
 */
import {
  encodeMessage,
  handshakeDiscoveryKey,
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
  it('reads the discovery key of any handshake the swarm codec writes', () => {
    fc.assert(
      fc.property(
        hex(32),
        hex(20),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 255 }),
        (discoveryKey, peerId, nonce, version) => {
          const frame = encodeMessage({ type: 'handshake', version, discoveryKey, peerId, nonce });
          expect(frame.byteLength).toBe(SWARM_HANDSHAKE.length);
          expect(frame[0]).toBe(SWARM_HANDSHAKE.type);
          expect(handshakeDiscoveryKey(frame)).toBe(discoveryKey);
          expect([...frame.subarray(SWARM_HANDSHAKE.nonceOffset)]).toEqual([...nonce]);
        },
      ),
    );
    expect(SWARM_HANDSHAKE.type).toBe(MessageType.HANDSHAKE);
    expect(SWARM_HANDSHAKE.length).toBe(86);
  });

  it('reads no discovery key from anything but a whole handshake', () => {
    const frame = encodeMessage({
      type: 'handshake',
      version: 2,
      discoveryKey: 'ab'.repeat(32),
      peerId: 'cd'.repeat(20),
      nonce: new Uint8Array(32),
    });
    expect(handshakeDiscoveryKey(frame.subarray(0, frame.byteLength - 1))).toBeNull();
    expect(handshakeDiscoveryKey(Uint8Array.of(...frame, 0))).toBeNull();
    expect(handshakeDiscoveryKey(encodeMessage({ type: 'have', index: 1 }))).toBeNull();
    expect(handshakeDiscoveryKey(new Uint8Array(0))).toBeNull();
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
