/**
 * The two Ed25519 paths give one answer: WebCrypto's native Ed25519 (where the platform has
 * it, as Node does) and @noble/curves (plain-HTTP pages). Known vectors from RFC 8032 §7.1,
 * tampered fields, keys of small order, and the fallback when there is no WebCrypto.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  fromHex,
  identityFromSeed,
  SIGNATURE_BYTES,
  signSignal,
  toHex,
  verifySignalEnvelope,
  verifySignalEnvelopeAsync,
  verifySignature,
  verifySignatureAsync,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte). */
const VECTORS = [
  {
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

/** Both verifiers' answers for one input: they must agree. */
async function both(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  const sync = verifySignature(publicKey, signature, message);
  const viaPlatform = await verifySignatureAsync(publicKey, signature, message);
  expect(viaPlatform).toBe(sync);
  return sync;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('Ed25519 signing and verifying', () => {
  it('signs the RFC 8032 vectors byte for byte (WebCrypto signer) and both verifiers accept them', async () => {
    expect(typeof globalThis.crypto?.subtle?.sign).toBe('function');
    for (const v of VECTORS) {
      const identity = identityFromSeed(fromHex(v.secret));
      expect(toHex(identity.publicKey)).toBe(v.publicKey);
      expect(toHex(await identity.sign(fromHex(v.message)))).toBe(v.signature);
      expect(await both(fromHex(v.publicKey), fromHex(v.signature), fromHex(v.message))).toBe(true);
    }
  });

  it('refuses a flipped bit in the message, the signature or the key, by both paths', async () => {
    const v = VECTORS[1]!;
    const flip = (hex: string, at: number) => {
      const bytes = fromHex(hex);
      bytes[at] = bytes[at]! ^ 0x01;
      return bytes;
    };
    expect(await both(fromHex(v.publicKey), fromHex(v.signature), Uint8Array.of(0x73))).toBe(false);
    expect(await both(fromHex(v.publicKey), flip(v.signature, 0), fromHex(v.message))).toBe(false);
    expect(await both(fromHex(v.publicKey), flip(v.signature, 40), fromHex(v.message))).toBe(false);
    expect(await both(flip(v.publicKey, 3), fromHex(v.signature), fromHex(v.message))).toBe(false);
    expect(await both(fromHex(v.publicKey), fromHex(v.signature).subarray(1), fromHex(v.message))).toBe(false);
  });

  it('refuses a key of small order, with which one (R, S) would verify for every message', async () => {
    // The identity point (y = 1) and R = identity, S = 0: k·A = 0 and R = S·B for any k.
    const identityPoint = fromHex(`01${'00'.repeat(31)}`);
    const signature = new Uint8Array(SIGNATURE_BYTES);
    signature.set(identityPoint, 0);
    // Permissive rules (ZIP-215, noble's default) would accept it: the check is not vacuous.
    expect(ed25519.verify(signature, Uint8Array.of(1, 2, 3), identityPoint, { zip215: true })).toBe(true);
    expect(await both(identityPoint, signature, Uint8Array.of(1, 2, 3))).toBe(false);
    expect(await both(identityPoint, signature, Uint8Array.of(4, 5, 6))).toBe(false);
  });

  it('falls back to noble where the platform has no WebCrypto (a plain-HTTP page)', async () => {
    const v = VECTORS[0]!;
    // An insecure context keeps getRandomValues and loses subtle.
    const { getRandomValues } = globalThis.crypto;
    vi.stubGlobal('crypto', { getRandomValues: getRandomValues.bind(globalThis.crypto) });
    expect(globalThis.crypto.subtle).toBeUndefined();
    const identity = identityFromSeed(fromHex(v.secret));
    expect(toHex(await identity.sign(fromHex(v.message)))).toBe(v.signature);
    expect(await verifySignatureAsync(fromHex(v.publicKey), fromHex(v.signature), fromHex(v.message))).toBe(true);
    expect(await verifySignatureAsync(fromHex(v.publicKey), fromHex(v.signature), Uint8Array.of(1))).toBe(false);
  });

  it('checks a signal envelope the same way on both paths', async () => {
    const alice = identityFromSeed(fromHex(VECTORS[0]!.secret));
    const bob = identityFromSeed(fromHex(VECTORS[1]!.secret));
    const envelope = await signSignal(alice, bob.peerId, 'ab'.repeat(8), { type: 'offer', sdp: 'v=0' });
    const expected = { sid: 'ab'.repeat(8), signals: [{ type: 'offer', sdp: 'v=0' }] };
    expect(verifySignalEnvelope(envelope, alice.peerId, bob.peerId)).toEqual(expected);
    expect(await verifySignalEnvelopeAsync(envelope, alice.peerId, bob.peerId)).toEqual(expected);
    const tampered = { ...envelope, body: envelope.body.replace('v=0', 'v=1') };
    expect(await verifySignalEnvelopeAsync(tampered, alice.peerId, bob.peerId)).toBeNull();
    expect(await verifySignalEnvelopeAsync(envelope, bob.peerId, alice.peerId)).toBeNull();
    expect(await verifySignalEnvelopeAsync({ ...envelope, sig: 'zz' }, alice.peerId, bob.peerId)).toBeNull();
  });
});
