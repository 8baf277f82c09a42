/**
 * The page's peer identity: one per browser profile, kept in IndexedDB so a reload keeps the
 * peer ID (and its place in the ring) instead of churning it.
 *
 * - Where WebCrypto has Ed25519 (secure contexts of current Chromium, Firefox, Safari) the key
 *   pair is made non-extractable and the CryptoKeyPair itself is stored: no script, ours
 *   included, can read the private key out.
 * - Where it has not (no `crypto.subtle`, or no Ed25519 in it), a 32-byte seed is stored
 *   instead and signed with @noble/curves (`identityFromSeed`). That seed is readable by any
 *   script of this origin — the page's own code is the only script it runs.
 *
 * Two tabs of one profile must not be one peer at once (each would replace the other's
 * tracker socket), so the stored identity is held with a Web Lock for the tab's life; a tab
 * that cannot get it (another tab holds it) uses a fresh identity. Without Web Locks (they,
 * like `crypto.subtle`, exist only in secure contexts: a page over plain HTTP to a LAN
 * address) there is no way to know, and every load uses a fresh identity.
 */
import { identityFromCryptoKeys, identityFromSeed, type PeerIdentity, randomIdentity } from '@ringswarm/shared';

/** The Web Lock a tab holds while it uses the stored identity. */
export const IDENTITY_LOCK = 'ringswarm-identity';
const DB_NAME = 'ringswarm-identity';
const STORE = 'identity';
const KEY = 'self';

type Stored = { keys: CryptoKeyPair } | { seed: Uint8Array };

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDb(): Promise<IDBDatabase> {
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

/** A new non-extractable Ed25519 pair, or null where WebCrypto lacks Ed25519. */
async function generateKeys(): Promise<CryptoKeyPair | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  try {
    const keys = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    return 'privateKey' in keys ? keys : null;
  } catch {
    return null;
  }
}

const isStored = (value: unknown): value is Stored =>
  typeof value === 'object' &&
  value !== null &&
  (('keys' in value && typeof value.keys === 'object' && value.keys !== null) ||
    ('seed' in value && value.seed instanceof Uint8Array && value.seed.length === 32));

async function fromStored(stored: Stored): Promise<PeerIdentity> {
  return 'keys' in stored ? identityFromCryptoKeys(stored.keys) : identityFromSeed(stored.seed);
}

/** The stored identity, made and stored on first use. */
async function storedIdentity(): Promise<PeerIdentity> {
  const db = await openDb();
  try {
    const found: unknown = await request(db.transaction(STORE).objectStore(STORE).get(KEY));
    if (isStored(found)) return await fromStored(found);
    const keys = await generateKeys();
    const made: Stored = keys ? { keys } : { seed: crypto.getRandomValues(new Uint8Array(32)) };
    // add(), not put(): a tab that raced us to it keeps its key, and we read that one.
    try {
      await request(db.transaction(STORE, 'readwrite').objectStore(STORE).add(made, KEY));
      return await fromStored(made);
    } catch {
      const again: unknown = await request(db.transaction(STORE).objectStore(STORE).get(KEY));
      if (isStored(again)) return await fromStored(again);
      throw new Error('the identity could not be stored');
    }
  } finally {
    db.close();
  }
}

/**
 * The identity this tab uses: the profile's stored one when this tab got its lock, else a
 * fresh one (another tab has it, or the browser has no Web Locks or no IndexedDB).
 */
export async function loadPageIdentity(): Promise<{ identity: PeerIdentity; stored: boolean }> {
  const locks = globalThis.navigator?.locks;
  if (!locks || typeof indexedDB === 'undefined') return { identity: randomIdentity(), stored: false };
  const held = await new Promise<boolean>((resolve) => {
    locks
      .request(IDENTITY_LOCK, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        // Held until the tab goes away.
        return lock ? new Promise<never>(() => {}) : undefined;
      })
      .catch(() => resolve(false));
  });
  if (!held) return { identity: randomIdentity(), stored: false };
  try {
    return { identity: await storedIdentity(), stored: true };
  } catch (err) {
    console.warn('ringswarm: cannot keep a peer identity in this browser, using a fresh one:', err);
    return { identity: randomIdentity(), stored: false };
  }
}
