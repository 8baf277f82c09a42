/**
 * A peer's key pair and the ID it stands for ({@link peerIdOfPublicKey}). Where WebCrypto has
 * Ed25519 (Chromium, Firefox, Node in secure contexts) the private key can stay a
 * non-extractable CryptoKey; elsewhere (plain-HTTP pages, a key read from a file) the key is a
 * 32-byte seed signed with @noble/curves. Signatures are the same either way (RFC 8032).
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { peerIdOfPublicKey } from '../protocol/identity.js';
import { randomBytes } from '../util/bytes.js';

/** What a peer signs with. */
export interface PeerIdentity {
  /** 40 hex digits: the first 20 bytes of SHA-256 of {@link publicKey}. */
  readonly peerId: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** An Ed25519 signature of `message` (64 bytes). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** An identity from a 32-byte Ed25519 seed (the private key); signs with @noble/curves. */
export function identityFromSeed(seed: Uint8Array): PeerIdentity {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  const secret = seed.slice();
  const publicKey = ed25519.getPublicKey(secret);
  return {
    peerId: peerIdOfPublicKey(publicKey),
    publicKey,
    sign: (message) => Promise.resolve(ed25519.sign(message, secret)),
  };
}

/** A fresh random identity (seed from the platform CSPRNG). */
export function randomIdentity(): PeerIdentity {
  return identityFromSeed(randomBytes(32));
}

/**
 * An identity over a WebCrypto Ed25519 key pair (its private key may be non-extractable, as a
 * page keeps it in IndexedDB).
 */
export async function identityFromCryptoKeys(keys: CryptoKeyPair): Promise<PeerIdentity> {
  const subtle = globalThis.crypto.subtle;
  const publicKey = new Uint8Array(await subtle.exportKey('raw', keys.publicKey));
  return {
    peerId: peerIdOfPublicKey(publicKey),
    publicKey,
    sign: async (message) =>
      new Uint8Array(await subtle.sign('Ed25519', keys.privateKey, message as Uint8Array<ArrayBuffer>)),
  };
}
