/**
 * The page's IndexedDB database, where downloads live when the page has no OPFS (plain
 * HTTP: `navigator.storage` exists only in secure contexts, IndexedDB everywhere). Used by
 * the page (idb-store.ts) and by the worker (re-verifying pieces on resume), so both open
 * it the same way. Small promise wrappers; one request per transaction, so no transaction
 * is held open across an await.
 */

export const IDB_NAME = 'ringswarm';
export const IDB_VERSION = 1;
/** Verified pieces as Blobs (disk-backed when read back), keyed `[infoHash, index]`. */
export const PIECES = 'pieces';
/** Encoded verified manifests, keyed by infohash. */
export const MANIFESTS = 'manifests';

/** True when this context has IndexedDB (every current browser, secure context or not). */
export function idbAvailable(): boolean {
  return typeof indexedDB !== 'undefined';
}

export function requestResult<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

/** Resolves once a read-write transaction has committed (a put is durable only then). */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new DOMException('IndexedDB transaction aborted', 'AbortError'));
  });
}

let opening: Promise<IDBDatabase> | null = null;

/** Opens (creating or upgrading) the database once per context. */
export function openDb(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(IDB_NAME, IDB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains(PIECES)) db.createObjectStore(PIECES);
      if (!db.objectStoreNames.contains(MANIFESTS)) db.createObjectStore(MANIFESTS);
    };
    request.onsuccess = () => {
      const db = request.result;
      // Another tab upgrading the schema: let it, and reopen on next use.
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    request.onerror = () => reject(request.error ?? new Error('IndexedDB refused to open'));
    request.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
  opening.catch(() => {
    opening = null;
  });
  return opening;
}

export async function idbGet(store: string, key: IDBValidKey): Promise<unknown> {
  const db = await openDb();
  return requestResult(db.transaction(store, 'readonly').objectStore(store).get(key));
}

export async function idbPut(store: string, key: IDBValidKey, value: unknown): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).put(value, key);
  await committed(tx);
}

export async function idbDelete(store: string, key: IDBValidKey | IDBKeyRange): Promise<void> {
  const db = await openDb();
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).delete(key);
  await committed(tx);
}

/** Every key of `[infoHash, index]` form kept for one download. */
export const pieceRange = (infoHash: string): IDBKeyRange => IDBKeyRange.bound([infoHash, 0], [infoHash, Infinity]);

/** Indexes of the pieces kept for `infoHash`, ascending. */
export async function storedPieceIndexes(infoHash: string): Promise<number[]> {
  const db = await openDb();
  const keys = await requestResult(
    db.transaction(PIECES, 'readonly').objectStore(PIECES).getAllKeys(pieceRange(infoHash)),
  );
  const out: number[] = [];
  for (const key of keys) {
    if (Array.isArray(key) && typeof key[1] === 'number') out.push(key[1]);
  }
  return out;
}
