/**
 * Self-certifying peer IDs. Every peer has an Ed25519 key pair; its peer ID is the first 20
 * bytes of SHA-256 of the raw 32-byte public key, so an ID stays a 160-bit ring position and
 * anyone holding the public key can check that it belongs to the ID. Model: libp2p peer IDs.
 *
 * Two verifiers, both RFC 8032 strict (canonical encodings; a key of small order is refused),
 * that give the same answer for every signature an honest signer makes:
 * - {@link verifySignature}, synchronous (@noble/curves), on every platform, plain-HTTP pages
 *   (which have no WebCrypto) included;
 * - {@link verifySignatureAsync}, WebCrypto's native Ed25519 where the platform has it (Node,
 *   and pages in secure contexts of Chromium and Firefox), about ten times cheaper; it falls
 *   back to the first. Hot paths (every signal) use it and keep arrival order themselves.
 */

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../util/bytes.js';

/** Bytes of a raw Ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32;
/** Bytes of an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** Bytes of the SHA-256 prefix that is a peer ID (40 hex digits). */
export const PEER_ID_BYTES = 20;

/** The peer ID (40 lowercase hex digits) a raw Ed25519 public key stands for. */
export function peerIdOfPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new RangeError(`public key must be ${PUBLIC_KEY_BYTES} bytes`);
  return toHex(sha256(publicKey).subarray(0, PEER_ID_BYTES));
}

/** True when `signature` is a valid Ed25519 signature of `message` by `publicKey`; never throws. */
export function verifySignature(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** Public keys imported for WebCrypto kept at most (the peers one talks to recently). */
const VERIFY_KEYS_KEPT = 256;
const verifyKeys = new Map<string, Promise<CryptoKey | null>>();
/** False once the platform refused Ed25519 (or has no WebCrypto): noble from then on. */
let webCryptoEd25519 = typeof globalThis.crypto?.subtle?.verify === 'function';

/** A canonical encoding of a point not of small order: what noble's strict verify accepts. */
function isStrictKey(publicKey: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

function importVerifyKey(subtle: SubtleCrypto, publicKey: Uint8Array): Promise<CryptoKey | null> {
  const id = toHex(publicKey);
  let key = verifyKeys.get(id);
  if (key) {
    verifyKeys.delete(id);
  } else if (!isStrictKey(publicKey)) {
    key = Promise.resolve(null);
  } else {
    key = subtle.importKey('raw', publicKey.slice(), 'Ed25519', false, ['verify']).then(
      (k) => k,
      (err: unknown) => {
        // NotSupportedError: this platform has no Ed25519 in WebCrypto. A bad key is refused
        // by the verification itself.
        if (err instanceof Error && err.name === 'NotSupportedError') webCryptoEd25519 = false;
        verifyKeys.delete(id);
        return null;
      },
    );
    if (verifyKeys.size >= VERIFY_KEYS_KEPT) verifyKeys.delete(verifyKeys.keys().next().value as string);
  }
  verifyKeys.set(id, key);
  return key;
}

/**
 * {@link verifySignature}'s answer through WebCrypto's native Ed25519 where the platform has
 * it, else through noble. Never rejects.
 */
export async function verifySignatureAsync(
  publicKey: Uint8Array,
  signature: Uint8Array,
  message: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  const subtle = globalThis.crypto?.subtle;
  if (!webCryptoEd25519 || !subtle) return verifySignature(publicKey, signature, message);
  // A key noble refuses (small order, non-canonical) gets no CryptoKey: noble refuses it below.
  const key = await importVerifyKey(subtle, publicKey);
  if (!key) return verifySignature(publicKey, signature, message);
  try {
    return await subtle.verify(
      'Ed25519',
      key,
      signature as Uint8Array<ArrayBuffer>,
      message as Uint8Array<ArrayBuffer>,
    );
  } catch {
    return false;
  }
}

/** True when `publicKey` is well formed and hashes to `peerId`. */
export function publicKeyMatches(peerId: string, publicKey: Uint8Array): boolean {
  return publicKey.length === PUBLIC_KEY_BYTES && peerIdOfPublicKey(publicKey) === peerId;
}
