/**
 * Signed name records: `hash(file name) -> infohash`, signed by their publisher so no one can
 * put an infohash under a name in someone else's name, nor alter one on its way through the
 * ring. Both the writer ({@link encodeNameValue}) and every checker (the key's owner on put,
 * a replica on store, a reader on get) use this module.
 *
 * Value: `infoHash.publicKey.signature` (lowercase hex, 64 + 64 + 128 digits), the signature
 * an Ed25519 signature by `publicKey` over UTF-8 `ringswarm/name/v1`, NUL, the key (ring ID as
 * fixed-width hex), NUL, the infohash.
 */
import type { PeerIdentity } from '../identity/identity.js';
import { peerIdOfPublicKey, verifySignature } from '../protocol/identity.js';
import { fromHex, toHex } from '../util/bytes.js';
import type { RingSpace } from './id.js';
import { NAME_VALUE_PATTERN } from './messages.js';

/** Domain separation of name-record signatures. */
export const NAME_RECORD_CONTEXT = 'ringswarm/name/v1';

/** A name record that verified. */
export interface NameRecord {
  infoHash: string;
  /** The publisher's peer ID (hash of its public key). */
  publisher: string;
}

/** The bytes a name record's signature covers. */
export function nameRecordMessage(space: RingSpace, key: bigint, infoHash: string): Uint8Array {
  return new TextEncoder().encode(`${NAME_RECORD_CONTEXT}\0${space.toHex(key)}\0${infoHash}`);
}

/** The signed value publishing `infoHash` under `key`, by `identity`. */
export async function encodeNameValue(
  space: RingSpace,
  key: bigint,
  infoHash: string,
  identity: PeerIdentity,
): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(infoHash)) throw new RangeError('infohash must be 64 lowercase hex digits');
  const signature = await identity.sign(nameRecordMessage(space, key, infoHash));
  return `${infoHash}.${toHex(identity.publicKey)}.${toHex(signature)}`;
}

/** The record `value` stands for under `key` when its signature checks, else null; never throws. */
export function verifyNameValue(space: RingSpace, key: bigint, value: string): NameRecord | null {
  if (!NAME_VALUE_PATTERN.test(value)) return null;
  const [infoHash, publicKeyHex, signatureHex] = value.split('.');
  if (infoHash === undefined || publicKeyHex === undefined || signatureHex === undefined) return null;
  const publicKey = fromHex(publicKeyHex);
  if (!verifySignature(publicKey, fromHex(signatureHex), nameRecordMessage(space, key, infoHash))) return null;
  return { infoHash, publisher: peerIdOfPublicKey(publicKey) };
}
