/**
 * The link is the capability. A share link carries the infohash; everything the network sees
 * (tracker announces and scrapes, swarm rooms, DHT provider records, the swarm handshake)
 * carries only the discovery key derived from it, which cannot be turned back into the
 * infohash. Two peers that meet under a discovery key then prove to each other that they hold
 * the infohash itself, bound to the two DTLS certificates of their connection, so a relay that
 * terminates both connections (a lying signaling server, a ring member) cannot pass the proofs
 * on. Model: Hypercore's discovery keys and capabilities.
 *
 * Pure and synchronous (@noble/hashes), so it runs the same on plain-HTTP pages, which have
 * no WebCrypto.
 */

import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, toHex } from '../util/bytes.js';

const encoder = new TextEncoder();

/** Domain label of the discovery key: `SHA-256(label ‖ infohash)`. */
export const DISCOVERY_KEY_LABEL = 'ringswarm/discovery/v1';
/** Domain label of the capability proof. */
export const CAPABILITY_LABEL = 'ringswarm/cap/v1';
/** Bytes of each side's fresh handshake nonce. */
export const CAPABILITY_NONCE_BYTES = 32;
/** Bytes of a proof (HMAC-SHA256). */
export const CAPABILITY_PROOF_BYTES = 32;

/** The discovery key of a share (64 hex digits) from its infohash (64 hex digits). */
export function discoveryKeyOf(infoHash: string): string {
  return toHex(sha256(concatBytes([encoder.encode(DISCOVERY_KEY_LABEL), fromHex(infoHash)])));
}

/**
 * The DTLS certificate fingerprint a session description declares (`a=fingerprint:sha-256
 * AB:CD:…`), normalized to `sha-256 AB:CD:…` (algorithm lowercase, digest uppercase); null
 * when it has none. All media sections of one description carry the same certificate.
 */
export function sdpFingerprint(sdp: string): string | null {
  const match = /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp);
  if (!match) return null;
  return `${match[1]!.toLowerCase()} ${match[2]!.toUpperCase()}`;
}

/** Which side of the swarm handshake a proof speaks for: the link's opener or its responder. */
export type CapabilityRole = 'opener' | 'responder';

export interface CapabilityTranscript {
  /** 64 hex digits. */
  discoveryKey: string;
  /** Normalized DTLS fingerprint ({@link sdpFingerprint}) of the WebRTC offerer. */
  initiatorFingerprint: string;
  /** Normalized DTLS fingerprint of the WebRTC answerer. */
  responderFingerprint: string;
  /** The swarm handshake opener's nonce ({@link CAPABILITY_NONCE_BYTES} bytes). */
  openerNonce: Uint8Array;
  /** The swarm handshake responder's nonce. */
  responderNonce: Uint8Array;
}

function lengthPrefixed(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  if (bytes.length > 255) throw new RangeError('fingerprint too long');
  return concatBytes([Uint8Array.of(bytes.length), bytes]);
}

/**
 * `HMAC-SHA256(key = infohash, "ringswarm/cap/v1" ‖ dk ‖ fp_initiator ‖ fp_responder ‖
 * nonce_opener ‖ nonce_responder ‖ role)`. Fingerprints are length-prefixed; the role byte
 * (0 opener, 1 responder) makes the two proofs of one link differ, so neither side can
 * answer with the other's proof.
 */
export function capabilityProof(infoHash: string, transcript: CapabilityTranscript, role: CapabilityRole): Uint8Array {
  const { openerNonce, responderNonce } = transcript;
  if (openerNonce.length !== CAPABILITY_NONCE_BYTES || responderNonce.length !== CAPABILITY_NONCE_BYTES) {
    throw new RangeError(`nonces must be ${CAPABILITY_NONCE_BYTES} bytes`);
  }
  const message = concatBytes([
    encoder.encode(CAPABILITY_LABEL),
    fromHex(transcript.discoveryKey),
    lengthPrefixed(transcript.initiatorFingerprint),
    lengthPrefixed(transcript.responderFingerprint),
    openerNonce,
    responderNonce,
    Uint8Array.of(role === 'opener' ? 0 : 1),
  ]);
  return hmac(sha256, fromHex(infoHash), message);
}

/** Checks a remote's proof in time that does not depend on where it differs. */
export function verifyCapabilityProof(
  infoHash: string,
  transcript: CapabilityTranscript,
  role: CapabilityRole,
  proof: Uint8Array,
): boolean {
  const expected = capabilityProof(infoHash, transcript, role);
  if (proof.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ proof[i]!;
  return diff === 0;
}
