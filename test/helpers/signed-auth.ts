/** Handshake `auth` objects for tests that speak the tracker protocol by hand. */
import { type HandshakeAuth, type PeerIdentity, randomIdentity, signTrackerAuth } from '@ringswarm/shared';

/** A fresh, valid proof for `identity` (signed now, new nonce): what a real client sends. */
export function signedAuth(identity: PeerIdentity = randomIdentity(), now = Date.now()): Promise<HandshakeAuth> {
  return signTrackerAuth(identity, now);
}
