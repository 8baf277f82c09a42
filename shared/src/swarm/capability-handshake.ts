/**
 * One link's capability check (protocol/capability.ts): each side's handshake carries a fresh
 * nonce; once a side knows both nonces it sends its proof of the infohash, bound to the two
 * nonces and to both DTLS fingerprints of this connection, and it checks the remote's proof.
 * Nothing of the swarm (bitfield, manifest, pieces) crosses the link before that check passed.
 *
 * Roles: the opener is the side whose handshake came first. When both sides send theirs
 * before either arrives (both attached the swarm to an open link at once), each believes
 * it opened; the opener therefore also accepts a proof made as a second opener, over the
 * transcript whose opener nonce is the remote's. That proof still needs the infohash and
 * still covers our fresh nonce, so it cannot be replayed or reflected (equal nonces are
 * refused, and our own proof has our nonce in the opener place).
 */

import {
  CAPABILITY_NONCE_BYTES,
  type CapabilityRole,
  type CapabilityTranscript,
  capabilityProof,
  verifyCapabilityProof,
} from '../protocol/capability.js';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { equalBytes } from '../util/bytes.js';

/** DTLS fingerprints of one connection, normalized with `sdpFingerprint`. */
export interface LinkFingerprints {
  /** This side's certificate. */
  local: string;
  /** The remote's certificate, as its session description declared it. */
  remote: string;
}

/** What the check needs from the link: its WebRTC role and its certificates. */
export interface CapabilityLink {
  /** True for the side that created the WebRTC offer. */
  readonly initiator: boolean;
  /** The connection's DTLS fingerprints; null when they are not known. */
  fingerprints(): LinkFingerprints | null;
}

export interface CapabilityParams {
  /** The read capability: the key of every proof. */
  infoHash: string;
  discoveryKey: string;
  /** This side's fresh nonce for this link ({@link CAPABILITY_NONCE_BYTES} bytes). */
  nonce: Uint8Array;
}

function refuse(message: string): never {
  throw new RingswarmError(ErrorCode.CAPABILITY, message);
}

export class CapabilityHandshake {
  readonly #link: CapabilityLink;
  readonly #params: CapabilityParams;
  /** Set once our handshake went out: what we are on this link. */
  #role: CapabilityRole | null = null;
  #remoteNonce: Uint8Array | null = null;
  #fingerprints: { initiator: string; responder: string } | null = null;
  #verified = false;

  constructor(link: CapabilityLink, params: CapabilityParams) {
    if (params.nonce.length !== CAPABILITY_NONCE_BYTES) throw new RangeError('bad nonce length');
    this.#link = link;
    this.#params = params;
  }

  get nonce(): Uint8Array {
    return this.#params.nonce;
  }

  /** Our role, once our handshake went out; null before. */
  get role(): CapabilityRole | null {
    return this.#role;
  }

  /** True once the remote's proof checked out. */
  get verified(): boolean {
    return this.#verified;
  }

  /** True once the remote's handshake (its nonce) arrived. */
  get remoteNonceKnown(): boolean {
    return this.#remoteNonce !== null;
  }

  /** Our handshake went out; `remoteFirst`: the remote's handshake had already arrived. */
  sent(remoteFirst: boolean): void {
    if (this.#role === null) this.#role = remoteFirst ? 'responder' : 'opener';
  }

  /**
   * The remote's handshake nonce arrived (after ours went out): returns our proof to send.
   * Throws `ERR_CAPABILITY` when the nonce echoes ours or the fingerprints are unknown.
   */
  onRemoteNonce(nonce: Uint8Array): Uint8Array {
    const role = this.#role;
    if (role === null) throw new Error('our handshake must go out first');
    if (this.#remoteNonce) refuse('second nonce');
    if (nonce.length !== CAPABILITY_NONCE_BYTES) refuse('bad nonce length');
    if (equalBytes(nonce, this.#params.nonce)) refuse('the remote echoed our nonce');
    const fp = this.#link.fingerprints();
    if (!fp || fp.local === '' || fp.remote === '') refuse('the DTLS fingerprints of the link are unknown');
    this.#remoteNonce = nonce.slice();
    this.#fingerprints = this.#link.initiator
      ? { initiator: fp.local, responder: fp.remote }
      : { initiator: fp.remote, responder: fp.local };
    return capabilityProof(this.#params.infoHash, this.#transcript(role), role);
  }

  /** Checks the remote's proof; throws `ERR_CAPABILITY` when it does not hold. */
  verify(proof: Uint8Array): void {
    const role = this.#role;
    if (this.#verified) refuse('second capability proof');
    if (role === null || this.#remoteNonce === null) refuse('capability proof before the handshake');
    const { infoHash } = this.#params;
    const ok =
      role === 'responder'
        ? verifyCapabilityProof(infoHash, this.#transcript('responder'), 'opener', proof)
        : verifyCapabilityProof(infoHash, this.#transcript('opener'), 'responder', proof) ||
          // Both sent first: the remote proved as an opener, its nonce in the opener place.
          verifyCapabilityProof(infoHash, this.#transcript('responder'), 'opener', proof);
    if (!ok) refuse('the capability proof does not verify');
    this.#verified = true;
  }

  /** The transcript of this link with our nonce in the place of `ours`. */
  #transcript(ours: CapabilityRole): CapabilityTranscript {
    const fp = this.#fingerprints!;
    const remote = this.#remoteNonce!;
    const local = this.#params.nonce;
    return {
      discoveryKey: this.#params.discoveryKey,
      initiatorFingerprint: fp.initiator,
      responderFingerprint: fp.responder,
      openerNonce: ours === 'opener' ? local : remote,
      responderNonce: ours === 'opener' ? remote : local,
    };
  }
}
