/**
 * Where a download's pieces live in this browser: OPFS when the page has it, IndexedDB
 * where it has not (plain HTTP: `navigator.storage` exists only in secure contexts), memory
 * when neither works. Opening a download's storage finds a verified manifest kept from an
 * earlier visit and re-verifies its pieces in the worker, so a reload resumes instead of
 * starting over.
 */
import {
  Bitfield,
  formatBytes,
  type Manifest,
  MemoryPieceStore,
  type PieceStore,
  pieceSize,
  type SwarmCreateOptions,
} from '@ringswarm/shared';
import type { Status } from './download-view.js';
import { idbAvailable, openDb } from './idb.js';
import { IndexedDbPieceStore, loadIdbManifest, removeIdbDownload, saveIdbManifest } from './idb-store.js';
import { loadManifest, OpfsPieceStore, opfsAvailable, removeDownload, saveManifest } from './opfs-store.js';
import { worker } from './worker-client.js';

/** Where a download's pieces live. */
export type StorageKind = 'opfs' | 'indexeddb' | 'memory';

/** A store that keeps pieces across reloads and can hand a file back as a disk-backed Blob. */
export type KeptStore = OpfsPieceStore | IndexedDbPieceStore;

export const isKeptStore = (store: PieceStore): store is KeptStore =>
  store instanceof OpfsPieceStore || store instanceof IndexedDbPieceStore;

export interface OpenedStorage {
  store: PieceStore;
  /** The kept manifest and the pieces that passed the check, when resuming. */
  options: SwarmCreateOptions;
  resumed: Bitfield | null;
  /** Where the pieces live. */
  kind: StorageKind;
}

export interface StorageHooks {
  status: Status;
  /** Says once why the download cannot be kept on disk. */
  note: (text: string) => void;
  /** A manifest was found: the page can show the download's name before any peer answers. */
  onManifest: (manifest: Manifest) => void;
  /** Progress of re-verifying kept pieces. */
  onVerify: (done: number, total: number) => void;
}

/**
 * Opens the storage of a download (OPFS, else IndexedDB, else memory) and, when a verified
 * manifest is kept there, re-verifies its pieces.
 */
export async function openStorage(infoHash: string, hooks: StorageHooks): Promise<OpenedStorage> {
  const memoryOnly = (why: string): OpenedStorage => {
    hooks.note(`${why} The download is kept in memory: large files may not fit, and a reload starts over.`);
    return { store: new MemoryPieceStore(), options: {}, resumed: null, kind: 'memory' };
  };
  let store: KeptStore;
  let kind: 'opfs' | 'indexeddb';
  if (opfsAvailable()) {
    try {
      store = await OpfsPieceStore.open(infoHash);
      kind = 'opfs';
    } catch (err) {
      return memoryOnly(`This browser refused file storage (${(err as Error).message}).`);
    }
    // Ask the browser not to evict the pieces under storage pressure; it may say no.
    void navigator.storage.persist?.().catch(() => false);
  } else if (idbAvailable()) {
    try {
      await openDb();
    } catch (err) {
      return memoryOnly(`This browser refused to store data for this page (${(err as Error).message}).`);
    }
    store = new IndexedDbPieceStore(infoHash);
    kind = 'indexeddb';
  } else {
    return memoryOnly('This browser has no origin private file system and no IndexedDB.');
  }
  const manifest = await loadKeptManifest(kind, infoHash);
  if (!manifest) return { store, options: {}, resumed: null, kind };
  hooks.onManifest(manifest);
  hooks.status(`Checking the pieces of ${manifest.name} already in this browser…`);
  const indexes = await worker.verify(infoHash, manifest, hooks.onVerify, kind);
  const have = new Bitfield(manifest.pieces.length);
  for (const i of indexes) have.set(i);
  const resumed = new Bitfield(have.length, have.bytes);
  return { store, options: { manifest, have }, resumed, kind };
}

const loadKeptManifest = (kind: 'opfs' | 'indexeddb', infoHash: string): Promise<Manifest | null> =>
  kind === 'opfs' ? loadManifest(infoHash) : loadIdbManifest(infoHash);

/** Keeps the verified manifest beside the pieces, for resuming after a reload. */
export function saveKeptManifest(store: KeptStore, manifest: Manifest): Promise<void> {
  return store instanceof OpfsPieceStore
    ? saveManifest(store.infoHash, manifest)
    : saveIdbManifest(store.infoHash, manifest);
}

/** Deletes everything kept for a download. */
export function removeKept(store: KeptStore): Promise<void> {
  return store instanceof OpfsPieceStore ? removeDownload(store.infoHash) : removeIdbDownload(store.infoHash);
}

/** Bytes in the pieces `have` holds. */
export function resumedBytesOf(manifest: Manifest, have: Bitfield): number {
  let bytes = 0;
  for (let i = 0; i < have.length; i++) if (have.has(i)) bytes += pieceSize(manifest, i);
  return bytes;
}

/**
 * Says (through `status`) when the download needs more than the storage the browser grants
 * this page. `bytesLeft` is what is still to fetch.
 */
export async function checkQuota(manifest: Manifest, bytesLeft: number, status: Status): Promise<void> {
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  if (!estimate?.quota) return;
  const free = estimate.quota - (estimate.usage ?? 0);
  if (bytesLeft > free) {
    status(
      `Not enough storage: ${manifest.name} needs ${formatBytes(bytesLeft)} more, but this browser lets the page store only ${formatBytes(free)}. Free some disk space or delete other downloads, then reload.`,
      'error',
    );
  }
}
