/**
 * A peer's key pair and the ID it stands for ({@link peerIdOfPublicKey}). Where WebCrypto has
 * Ed25519 (Chromium, Firefox, Node in secure contexts) the private key can stay a
 * non-extractable CryptoKey; elsewhere (plain-HTTP pages, a key read from a file) the key is a
 * 32-byte seed, signed through WebCrypto when the platform has Ed25519 there (native, about
 * twenty times cheaper) and with @noble/curves when not. Signatures are the same either way
 * (RFC 8032 signatures are deterministic).
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { peerIdOfPublicKey } from '../protocol/identity.js';
import { concatBytes, fromHex, randomBytes } from '../util/bytes.js';

/** What a peer signs with. */
export interface PeerIdentity {
  /** 40 hex digits: the first 20 bytes of SHA-256 of {@link publicKey}. */
  readonly peerId: string;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** An Ed25519 signature of `message` (64 bytes). */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** DER of a PKCS#8 Ed25519 private key (RFC 8410), up to the 32-byte seed that follows it. */
const PKCS8_ED25519_PREFIX = fromHex('302e020100300506032b657004220420');

/** The seed as a non-extractable WebCrypto signing key; null where the platform has no Ed25519 there. */
async function webCryptoSigningKey(seed: Uint8Array): Promise<CryptoKey | null> {
  const subtle = globalThis.crypto?.subtle;
  if (typeof subtle?.importKey !== 'function') return null;
  try {
    const der = concatBytes([PKCS8_ED25519_PREFIX, seed]) as Uint8Array<ArrayBuffer>;
    return await subtle.importKey('pkcs8', der, 'Ed25519', false, ['sign']);
  } catch {
    return null;
  }
}

/** An identity from a 32-byte Ed25519 seed (the private key). */
export function identityFromSeed(seed: Uint8Array): PeerIdentity {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  const secret = seed.slice();
  const publicKey = ed25519.getPublicKey(secret);
  let signingKey: Promise<CryptoKey | null> | null = null;
  return {
    peerId: peerIdOfPublicKey(publicKey),
    publicKey,
    sign: async (message) => {
      signingKey ??= webCryptoSigningKey(secret);
      const key = await signingKey;
      if (!key) return ed25519.sign(message, secret);
      return new Uint8Array(await globalThis.crypto.subtle.sign('Ed25519', key, message as Uint8Array<ArrayBuffer>));
    },
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
