/**
 * Self-certifying peer IDs. Every peer has an Ed25519 key pair; its peer ID is the first 20
 * bytes of SHA-256 of the raw 32-byte public key, so an ID stays a 160-bit ring position and
 * anyone holding the public key can check that it belongs to the ID. Model: libp2p peer IDs.
 *
 * Verification is synchronous (@noble/curves), so a receiver checks a signature before it
 * acts on a message, in the order messages arrive, on every page (plain-HTTP pages have no
 * WebCrypto) and in the server.
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
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** True when `publicKey` is well formed and hashes to `peerId`. */
export function publicKeyMatches(peerId: string, publicKey: Uint8Array): boolean {
  return publicKey.length === PUBLIC_KEY_BYTES && peerIdOfPublicKey(publicKey) === peerId;
}
