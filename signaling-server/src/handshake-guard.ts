/**
 * What the tracker remembers about handshakes: the nonces of recent proofs (so one cannot be
 * replayed) and the new peer IDs each source address brought (so a client cannot mint IDs
 * without end, e.g. to come back as another after a ban). Both are bounded maps.
 */
import { createPublicKey, verify } from 'node:crypto';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, TRACKER_AUTH_NONCE_TTL_MS } from '@ringswarm/shared/protocol';

/** The DER head of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Ed25519 verification by OpenSSL (node:crypto): the same answer as the shared code's
 * @noble/curves for every real signature, several times faster, which matters for a
 * reconnect storm of thousands of handshakes. Never throws.
 */
export function verifyEd25519(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Most nonces remembered; past it (and none expired) new handshakes are refused. */
export const MAX_REMEMBERED_NONCES = 200_000;
/** Most source addresses whose new IDs are counted; the oldest window is dropped past it. */
export const MAX_TRACKED_ADDRESSES = 10_000;

/** Remembers each proof's nonce for {@link TRACKER_AUTH_NONCE_TTL_MS}. */
export class NonceCache {
  /** nonce -> when it may be forgotten; insertion order is expiry order (one fixed TTL). */
  readonly #seen = new Map<string, number>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(now: () => number, max = MAX_REMEMBERED_NONCES) {
    this.#now = now;
    this.#max = max;
  }

  get size(): number {
    return this.#seen.size;
  }

  /**
   * Records `nonce`; 'replayed' when it was seen within the TTL, 'full' when the cache holds
   * {@link MAX_REMEMBERED_NONCES} live nonces (accepting unrecorded would allow a replay).
   */
  use(nonce: string): 'ok' | 'replayed' | 'full' {
    const now = this.#now();
    for (const [old, expires] of this.#seen) {
      if (expires > now) break;
      this.#seen.delete(old);
    }
    if (this.#seen.has(nonce)) return 'replayed';
    if (this.#seen.size >= this.#max) return 'full';
    this.#seen.set(nonce, now + TRACKER_AUTH_NONCE_TTL_MS);
    return 'ok';
  }
}

/**
 * The key an address is counted under: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64
 * (one subscriber's usual allocation, which it can fill with addresses at will).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Counts distinct new peer IDs per source address per fixed window. */
export class NewIdLimiter {
  readonly #windows = new Map<string, { start: number; ids: Set<string> }>();
  readonly #now: () => number;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;

  /** @param max distinct IDs per address per window; 0 turns the limit off */
  constructor(max: number, windowMs: number, now: () => number, maxAddresses = MAX_TRACKED_ADDRESSES) {
    this.#max = max;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#maxAddresses = maxAddresses;
  }

  get addresses(): number {
    return this.#windows.size;
  }

  #current(key: string): { start: number; ids: Set<string> } | undefined {
    const window = this.#windows.get(key);
    if (window && this.#now() - window.start >= this.#windowMs) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }

  /** False when `peerId` would be one new ID too many for `address` in this window. */
  allows(address: string, peerId: string): boolean {
    if (this.#max === 0) return true;
    const window = this.#current(addressKey(address));
    return !window || window.ids.has(peerId) || window.ids.size < this.#max;
  }

  /** Counts `peerId` for `address` (after its proof held). */
  record(address: string, peerId: string): void {
    if (this.#max === 0) return;
    const key = addressKey(address);
    let window = this.#current(key);
    if (!window) {
      const now = this.#now();
      // Windows are inserted in start order: expired ones are at the front.
      for (const [old, w] of this.#windows) {
        if (this.#windows.size < this.#maxAddresses && now - w.start < this.#windowMs) break;
        this.#windows.delete(old);
      }
      window = { start: now, ids: new Set() };
      this.#windows.set(key, window);
    }
    if (window.ids.size < this.#max) window.ids.add(peerId);
  }
}
