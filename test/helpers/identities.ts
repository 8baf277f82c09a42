import { identityFromSeed, type PeerIdentity } from '@ringswarm/shared';

/**
 * Deterministic identities whose peer IDs start with the given bytes (two hex digits each),
 * so a test can place peers on the circle: seeds are tried in order until every wanted
 * first byte is found. A few hundred key derivations for a dozen IDs.
 */
export function identitiesAt(firstBytes: readonly string[]): Map<string, PeerIdentity> {
  const wanted = new Set(firstBytes);
  const found = new Map<string, PeerIdentity>();
  const seed = new Uint8Array(32);
  for (let i = 0; wanted.size > found.size; i++) {
    if (i > 100_000) throw new Error('could not find identities for every first byte');
    new DataView(seed.buffer).setUint32(0, i);
    const identity = identityFromSeed(seed);
    const first = identity.peerId.slice(0, 2);
    if (wanted.has(first) && !found.has(first)) found.set(first, identity);
  }
  return found;
}
