/** Signs the tracker handshake proof (`protocol/tracker-auth.ts`) with a peer's identity. */

import { type HandshakeAuth, PROTOCOL_VERSION } from '../protocol/tracker.js';
import { TRACKER_AUTH_NONCE_BYTES, trackerAuthMessage } from '../protocol/tracker-auth.js';
import { randomBytes, toHex } from '../util/bytes.js';
import type { PeerIdentity } from './identity.js';

/**
 * A fresh handshake `auth` object: signed now, with a new random nonce. Sign one per
 * connection attempt; the tracker refuses a nonce it has seen and a `ts` over 60 s old.
 * @param now ms since the epoch (the caller's clock)
 * @param nonce 16 bytes; default fresh from the platform CSPRNG
 */
export async function signTrackerAuth(
  identity: PeerIdentity,
  now: number,
  nonce: Uint8Array = randomBytes(TRACKER_AUTH_NONCE_BYTES),
): Promise<HandshakeAuth> {
  const ts = Math.floor(now);
  const nonceHex = toHex(nonce);
  const signature = await identity.sign(trackerAuthMessage(identity.peerId, ts, nonceHex));
  return {
    peerId: identity.peerId,
    version: PROTOCOL_VERSION,
    publicKey: toHex(identity.publicKey),
    ts,
    nonce: nonceHex,
    signature: toHex(signature),
  };
}
