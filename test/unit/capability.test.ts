/**
 * The capability primitives (protocol/capability.ts) against Node's own SHA-256 and HMAC over
 * the byte layout spelled out here, plus fixed vectors, so a change of layout cannot pass
 * unnoticed on both sides at once.
 */
import { createHash, createHmac } from 'node:crypto';
import {
  CAPABILITY_LABEL,
  type CapabilityRole,
  type CapabilityTranscript,
  capabilityProof,
  DISCOVERY_KEY_LABEL,
  discoveryKeyOf,
  sdpFingerprint,
  verifyCapabilityProof,
} from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const INFO_HASH = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const hexPairs = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
const FP_INITIATOR = `sha-256 ${hexPairs(Array.from({ length: 32 }, (_, i) => i))}`;
const FP_RESPONDER = `sha-256 ${hexPairs(Array.from({ length: 32 }, (_, i) => 255 - i))}`;
const NONCE_OPENER = new Uint8Array(32).fill(0x11);
const NONCE_RESPONDER = new Uint8Array(32).fill(0x22);

const transcript = (overrides: Partial<CapabilityTranscript> = {}): CapabilityTranscript => ({
  discoveryKey: discoveryKeyOf(INFO_HASH),
  initiatorFingerprint: FP_INITIATOR,
  responderFingerprint: FP_RESPONDER,
  openerNonce: NONCE_OPENER,
  responderNonce: NONCE_RESPONDER,
  ...overrides,
});

/** The proof by the formula, computed by Node: `HMAC(infohash, label ‖ dk ‖ len‖fpI ‖ len‖fpR ‖ nO ‖ nR ‖ role)`. */
function referenceProof(infoHash: string, t: CapabilityTranscript, role: CapabilityRole): string {
  const prefixed = (s: string) => Buffer.concat([Buffer.of(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
  const message = Buffer.concat([
    Buffer.from(CAPABILITY_LABEL, 'utf8'),
    Buffer.from(t.discoveryKey, 'hex'),
    prefixed(t.initiatorFingerprint),
    prefixed(t.responderFingerprint),
    t.openerNonce,
    t.responderNonce,
    Buffer.of(role === 'opener' ? 0 : 1),
  ]);
  return createHmac('sha256', Buffer.from(infoHash, 'hex')).update(message).digest('hex');
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('discoveryKeyOf', () => {
  it('is SHA-256 of the label and the infohash bytes', () => {
    const expected = createHash('sha256')
      .update('ringswarm/discovery/v1')
      .update(Buffer.from(INFO_HASH, 'hex'))
      .digest('hex');
    expect(DISCOVERY_KEY_LABEL).toBe('ringswarm/discovery/v1');
    expect(discoveryKeyOf(INFO_HASH)).toBe(expected);
    expect(discoveryKeyOf(INFO_HASH)).toBe('d3d8eaa3d05c41bf254a59fc26717506d19d876ce6e2a2cb75c270959df96759');
  });

  it('matches Node for any infohash, and never equals it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const infoHash = hex(bytes);
        const expected = createHash('sha256').update(DISCOVERY_KEY_LABEL).update(bytes).digest('hex');
        expect(discoveryKeyOf(infoHash)).toBe(expected);
        expect(discoveryKeyOf(infoHash)).not.toBe(infoHash);
      }),
    );
  });
});

describe('capabilityProof', () => {
  it('matches the fixed vectors for both roles', () => {
    expect(hex(capabilityProof(INFO_HASH, transcript(), 'opener'))).toBe(
      'c51cb0cd205098ed4e0984cfaff0bbdd6bf6846768b042b2a5a755fc15119ee6',
    );
    expect(hex(capabilityProof(INFO_HASH, transcript(), 'responder'))).toBe(
      '3bccab0b5554638d6711109f4e88452b5aad29c2fb642b68d3f546d5fab409bf',
    );
  });

  it('is the HMAC Node computes over the spelled-out layout, for any inputs', () => {
    const fingerprint = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `sha-256 ${hexPairs([...b])}`);
    const nonce = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fingerprint,
        fingerprint,
        nonce,
        nonce,
        fc.constantFrom<CapabilityRole>('opener', 'responder'),
        (ih, fpI, fpR, nO, nR, role) => {
          const infoHash = hex(ih);
          const t = transcript({
            discoveryKey: discoveryKeyOf(infoHash),
            initiatorFingerprint: fpI,
            responderFingerprint: fpR,
            openerNonce: nO,
            responderNonce: nR,
          });
          expect(hex(capabilityProof(infoHash, t, role))).toBe(referenceProof(infoHash, t, role));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses nonces of the wrong length', () => {
    expect(() => capabilityProof(INFO_HASH, transcript({ openerNonce: new Uint8Array(31) }), 'opener')).toThrow(
      RangeError,
    );
  });
});

describe('verifyCapabilityProof', () => {
  const good = capabilityProof(INFO_HASH, transcript(), 'responder');

  it('accepts the proof made for the same transcript and role', () => {
    expect(verifyCapabilityProof(INFO_HASH, transcript(), 'responder', good)).toBe(true);
  });

  it.each<[string, () => boolean]>([
    ['another infohash', () => verifyCapabilityProof('ff'.repeat(32), transcript(), 'responder', good)],
    ['the other role (a reflected proof)', () => verifyCapabilityProof(INFO_HASH, transcript(), 'opener', good)],
    [
      'the fingerprints in the other order',
      () =>
        verifyCapabilityProof(
          INFO_HASH,
          transcript({ initiatorFingerprint: FP_RESPONDER, responderFingerprint: FP_INITIATOR }),
          'responder',
          good,
        ),
    ],
    [
      'another certificate on one side (a relay in the middle)',
      () =>
        verifyCapabilityProof(
          INFO_HASH,
          transcript({ responderFingerprint: FP_INITIATOR.replace('00:', 'AA:') }),
          'responder',
          good,
        ),
    ],
    [
      'the nonces swapped',
      () =>
        verifyCapabilityProof(
          INFO_HASH,
          transcript({ openerNonce: NONCE_RESPONDER, responderNonce: NONCE_OPENER }),
          'responder',
          good,
        ),
    ],
    [
      'a nonce of another link (a replay)',
      () =>
        verifyCapabilityProof(INFO_HASH, transcript({ openerNonce: new Uint8Array(32).fill(0x33) }), 'responder', good),
    ],
    [
      'one flipped bit',
      () =>
        verifyCapabilityProof(
          INFO_HASH,
          transcript(),
          'responder',
          good.map((b, i) => (i === 7 ? b ^ 1 : b)),
        ),
    ],
    ['a truncated proof', () => verifyCapabilityProof(INFO_HASH, transcript(), 'responder', good.subarray(0, 31))],
    ['an empty proof', () => verifyCapabilityProof(INFO_HASH, transcript(), 'responder', new Uint8Array(0))],
  ])('refuses a proof checked against %s', (_what, check) => {
    expect(check()).toBe(false);
  });
});

describe('sdpFingerprint', () => {
  const digest = 'ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67:89';

  it('normalizes the fingerprint line of a Chromium or libwebrtc (wrtc) description', () => {
    const sdp = [
      'v=0',
      'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:abcd',
      `a=fingerprint:SHA-256 ${digest}`,
      'a=setup:actpass',
      'a=mid:0',
      '',
    ].join('\r\n');
    expect(sdpFingerprint(sdp)).toBe(`sha-256 ${digest.toUpperCase()}`);
  });

  it('is null for a description without one', () => {
    expect(sdpFingerprint('v=0\r\ns=-\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n')).toBeNull();
    expect(sdpFingerprint('')).toBeNull();
  });
});
