/**
 * The tracker handshake proof. A client proves it holds the key its peer ID stands for by
 * signing a short-lived, single-use statement; the server checks it before binding the
 * socket to the ID (a signed timestamp plus nonce rather than a server challenge, so the
 * proof fits socket.io's one-message handshake; the server refuses stale and replayed ones).
 *
 * The signed message is exactly these 69 bytes:
 *
 *     "ringswarm/tracker-auth/v1"   25 bytes, ASCII (the domain: no other signature of ours has it)
 *     peerId                        20 bytes, the ID's raw bytes (its 40 hex digits decoded)
 *     ts                             8 bytes, unsigned big-endian integer, ms since the Unix epoch
 *     nonce                         16 bytes, the nonce's raw bytes (its 32 hex digits decoded)
 *
 * and the handshake `auth` object carries `{peerId, version, publicKey, ts, nonce, signature}`,
 * every byte string as lowercase hex (publicKey 64 digits, nonce 32, signature 128).
 */
import { fromHex } from '../util/bytes.js';
import { PEER_ID_BYTES, publicKeyMatches, verifySignature } from './identity.js';

/** The domain string at the head of every tracker-auth message. */
export const TRACKER_AUTH_DOMAIN = 'ringswarm/tracker-auth/v1';
/** Bytes of a handshake nonce (32 hex digits). */
export const TRACKER_AUTH_NONCE_BYTES = 16;
/** How far a proof's `ts` may be from the server's clock, either way. */
export const TRACKER_AUTH_MAX_SKEW_MS = 60_000;
/** How long a server remembers a nonce: longer than any `ts` it still accepts. */
export const TRACKER_AUTH_NONCE_TTL_MS = 2 * TRACKER_AUTH_MAX_SKEW_MS;

const DOMAIN_BYTES = new TextEncoder().encode(TRACKER_AUTH_DOMAIN);
/** Bytes of the signed message: domain ‖ peer ID ‖ ts ‖ nonce. */
export const TRACKER_AUTH_MESSAGE_BYTES = DOMAIN_BYTES.length + PEER_ID_BYTES + 8 + TRACKER_AUTH_NONCE_BYTES;

/**
 * The bytes a client signs (see the module comment).
 * @param peerId 40 lowercase hex digits
 * @param ts ms since the epoch, a non-negative safe integer
 * @param nonce 32 lowercase hex digits
 */
export function trackerAuthMessage(peerId: string, ts: number, nonce: string): Uint8Array {
  if (!/^[0-9a-f]{40}$/.test(peerId)) throw new RangeError('peer ID must be 40 lowercase hex digits');
  if (!/^[0-9a-f]{32}$/.test(nonce)) throw new RangeError('nonce must be 32 lowercase hex digits');
  if (!Number.isSafeInteger(ts) || ts < 0) throw new RangeError('ts must be a non-negative safe integer');
  const out = new Uint8Array(TRACKER_AUTH_MESSAGE_BYTES);
  out.set(DOMAIN_BYTES, 0);
  let at = DOMAIN_BYTES.length;
  out.set(fromHex(peerId), at);
  at += PEER_ID_BYTES;
  new DataView(out.buffer).setBigUint64(at, BigInt(ts), false);
  at += 8;
  out.set(fromHex(nonce), at);
  return out;
}

/** The signed fields of a handshake, as parsed by `HandshakeAuthSchema`. */
export interface TrackerAuthProof {
  peerId: string;
  publicKey: string;
  ts: number;
  nonce: string;
  signature: string;
}

/** Why a proof failed, for logs; every failure is `ERR_BAD_PROOF` on the wire. */
export type TrackerAuthFailure = 'key-mismatch' | 'bad-signature' | 'stale';

/** An Ed25519 verifier: true when `signature` is `publicKey`'s over `message`; never throws. */
export type VerifySignature = (publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array) => boolean;

/**
 * Checks a proof's key, signature and age (not replay: that needs the server's memory).
 * Returns null when it holds.
 * @param verify default {@link verifySignature} (@noble/curves); a server may pass a faster one
 */
export function checkTrackerAuth(
  proof: TrackerAuthProof,
  now: number,
  verify: VerifySignature = verifySignature,
): TrackerAuthFailure | null {
  const publicKey = fromHex(proof.publicKey);
  if (!publicKeyMatches(proof.peerId, publicKey)) return 'key-mismatch';
  if (Math.abs(now - proof.ts) > TRACKER_AUTH_MAX_SKEW_MS) return 'stale';
  const message = trackerAuthMessage(proof.peerId, proof.ts, proof.nonce);
  if (!verify(publicKey, fromHex(proof.signature), message)) return 'bad-signature';
  return null;
}
