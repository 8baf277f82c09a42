/**
 * The tracker handshake proof (protocol/tracker-auth.ts): the exact bytes signed, and every
 * way a proof can be wrong. The signature is checked with node:crypto, an Ed25519 that is not
 * the one the code signs or verifies with.
 */
import { createPublicKey, verify } from 'node:crypto';
import {
  checkTrackerAuth,
  fromHex,
  type HandshakeAuth,
  identityFromSeed,
  PROTOCOL_VERSION,
  randomIdentity,
  signTrackerAuth,
  TRACKER_AUTH_MAX_SKEW_MS,
  TRACKER_AUTH_NONCE_TTL_MS,
  toHex,
  trackerAuthMessage,
} from '@ringswarm/shared';
import { addressKey, NewIdLimiter, NonceCache, verifyEd25519 } from '@ringswarm/signaling-server';
import { describe, expect, it } from 'vitest';

const SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
const PUBLIC_KEY = '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8';
const PEER_ID = '56475aa75463474c0285df5dbf2bcab73da65135';
const TS = 1_700_000_000_000;
const NONCE = '000102030405060708090a0b0c0d0e0f';

/** Ed25519 public key in SPKI DER: the fixed 12-byte prefix, then the raw key. */
const nodeKey = (raw: string) =>
  createPublicKey({ key: Buffer.from(`302a300506032b6570032100${raw}`, 'hex'), format: 'der', type: 'spki' });

describe('tracker handshake proof', () => {
  it('signs exactly domain ‖ peer ID ‖ ts (u64 big-endian ms) ‖ nonce, 69 bytes', async () => {
    const identity = identityFromSeed(SEED);
    expect(toHex(identity.publicKey)).toBe(PUBLIC_KEY);
    expect(identity.peerId).toBe(PEER_ID);
    const message = trackerAuthMessage(PEER_ID, TS, NONCE);
    expect(toHex(message)).toBe(
      // "ringswarm/tracker-auth/v1" in ASCII
      '72696e67737761726d2f747261636b65722d617574682f7631' +
        // the peer ID's 20 bytes
        '56475aa75463474c0285df5dbf2bcab73da65135' +
        // 1,700,000,000,000 ms = 0x0000018bcfe56800
        '0000018bcfe56800' +
        // the nonce's 16 bytes
        '000102030405060708090a0b0c0d0e0f',
    );
    expect(message).toHaveLength(69);
    const auth = await signTrackerAuth(identity, TS, fromHex(NONCE));
    expect(auth).toMatchObject({
      peerId: PEER_ID,
      version: PROTOCOL_VERSION,
      publicKey: PUBLIC_KEY,
      ts: TS,
      nonce: NONCE,
    });
    expect(auth.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(verify(null, message, nodeKey(PUBLIC_KEY), Buffer.from(auth.signature, 'hex'))).toBe(true);
    expect(checkTrackerAuth(auth, TS)).toBeNull();
    // The server's verifier (OpenSSL) agrees.
    expect(checkTrackerAuth(auth, TS, verifyEd25519)).toBeNull();
  });

  it('refuses a proof with any one field changed', async () => {
    const auth = await signTrackerAuth(identityFromSeed(SEED), TS, fromHex(NONCE));
    const other = randomIdentity();
    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const tampered: [string, HandshakeAuth, string][] = [
      ['peerId', { ...auth, peerId: flip(auth.peerId) }, 'key-mismatch'],
      // Another key, with its own ID: the signature is not by it.
      ['publicKey', { ...auth, publicKey: toHex(other.publicKey), peerId: other.peerId }, 'bad-signature'],
      ['publicKey (ID kept)', { ...auth, publicKey: toHex(other.publicKey) }, 'key-mismatch'],
      ['ts', { ...auth, ts: TS + 1 }, 'bad-signature'],
      ['nonce', { ...auth, nonce: flip(auth.nonce) }, 'bad-signature'],
      ['signature', { ...auth, signature: flip(auth.signature) }, 'bad-signature'],
    ];
    for (const [field, proof, failure] of tampered) {
      expect(checkTrackerAuth(proof, TS), field).toBe(failure);
      expect(checkTrackerAuth(proof, TS, verifyEd25519), `${field} (server verifier)`).toBe(failure);
    }
  });

  it('refuses a proof signed more than 60 s from the server clock, either way', async () => {
    const auth = await signTrackerAuth(identityFromSeed(SEED), TS, fromHex(NONCE));
    expect(checkTrackerAuth(auth, TS + TRACKER_AUTH_MAX_SKEW_MS)).toBeNull();
    expect(checkTrackerAuth(auth, TS - TRACKER_AUTH_MAX_SKEW_MS)).toBeNull();
    expect(checkTrackerAuth(auth, TS + TRACKER_AUTH_MAX_SKEW_MS + 1)).toBe('stale');
    expect(checkTrackerAuth(auth, TS - TRACKER_AUTH_MAX_SKEW_MS - 1)).toBe('stale');
  });

  it('remembers nonces for two minutes, in a bounded cache', () => {
    let now = TS;
    const cache = new NonceCache(() => now, 3);
    expect(cache.use(NONCE)).toBe('ok');
    expect(cache.use(NONCE)).toBe('replayed');
    now += TRACKER_AUTH_NONCE_TTL_MS - 1;
    expect(cache.use(NONCE)).toBe('replayed');
    expect(cache.use('b'.repeat(32))).toBe('ok');
    expect(cache.use('c'.repeat(32))).toBe('ok');
    // Full of live nonces: a new one cannot be recorded, so it is not accepted.
    expect(cache.use('d'.repeat(32))).toBe('full');
    now += 1;
    // The first expired: it is forgotten (a proof that old is stale anyway) and makes room.
    expect(cache.use('d'.repeat(32))).toBe('ok');
    expect(cache.size).toBe(3);
  });

  it('counts new peer IDs per address (IPv6 per /64) per window, in a bounded map', () => {
    let now = 0;
    const limit = new NewIdLimiter(2, 1_000, () => now, 2);
    const ids = ['a', 'b', 'c'].map((c) => c.repeat(40));
    const [a, b, c] = ids as [string, string, string];
    for (const id of [a, b]) {
      expect(limit.allows('192.0.2.1', id)).toBe(true);
      limit.record('192.0.2.1', id);
    }
    expect(limit.allows('192.0.2.1', c)).toBe(false);
    expect(limit.allows('::ffff:192.0.2.1', c)).toBe(false);
    // An ID it already brought comes back freely; other addresses have their own count.
    expect(limit.allows('192.0.2.1', a)).toBe(true);
    expect(limit.allows('192.0.2.2', c)).toBe(true);
    limit.record('2001:db8:1:2::1', a);
    limit.record('2001:db8:1:2:ffff::9', b);
    expect(limit.allows('2001:0db8:0001:0002:1234:5678:9abc:def0', c)).toBe(false);
    expect(limit.addresses).toBe(2);
    // A third address pushes out the oldest window: the map stays at its bound.
    limit.record('198.51.100.7', a);
    expect(limit.addresses).toBe(2);
    now = 1_000;
    expect(limit.allows('2001:db8:1:2::1', c)).toBe(true);
    expect(new NewIdLimiter(0, 1_000, () => now).allows('192.0.2.1', c)).toBe(true);
  });

  it('keys addresses: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64', () => {
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:DB8:0:0:1::')).toBe('2001:db8:0:0::/64');
  });
});
