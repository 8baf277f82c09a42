import { z } from 'zod';

/** Peer IDs are 160-bit numbers (the ring's identifier space), written as 40 lowercase hex digits. */
export const PEER_ID_HEX_LENGTH = 40;
/** Infohashes are SHA-256 digests, written as 64 lowercase hex digits. */
export const INFO_HASH_HEX_LENGTH = 64;

export const PeerIdSchema = z.string().regex(/^[0-9a-f]{40}$/, 'peer ID must be 40 lowercase hex digits');
export const InfoHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'infohash must be 64 lowercase hex digits');

/**
 * Discovery keys (`SHA-256("ringswarm/discovery/v1" ‖ infohash)`, see `capability.ts`): what the
 * tracker and the DHT see of a share instead of its infohash. 64 lowercase hex digits.
 */
export const DiscoveryKeySchema = z.string().regex(/^[0-9a-f]{64}$/, 'discovery key must be 64 lowercase hex digits');

export type PeerId = z.infer<typeof PeerIdSchema>;
export type InfoHash = z.infer<typeof InfoHashSchema>;
export type DiscoveryKey = z.infer<typeof DiscoveryKeySchema>;

export function isPeerId(value: unknown): value is PeerId {
  return PeerIdSchema.safeParse(value).success;
}

export function isInfoHash(value: unknown): value is InfoHash {
  return InfoHashSchema.safeParse(value).success;
}
