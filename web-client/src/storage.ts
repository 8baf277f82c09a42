/**
 * Where a download's pieces live in this browser: OPFS when the browser has it, memory
 * otherwise. Opening a download's storage finds a verified manifest kept from an earlier
 * visit and re-verifies its pieces, so a reload resumes instead of starting over.
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
import { loadManifest, OpfsPieceStore, opfsAvailable } from './opfs-store.js';
import { worker } from './worker-client.js';

export interface OpenedStorage {
  store: PieceStore;
  /** The kept manifest and the pieces that passed the check, when resuming. */
  options: SwarmCreateOptions;
  resumed: Bitfield | null;
  /** Where the pieces live. */
  kind: 'opfs' | 'memory';
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

/** Opens the OPFS folder of a download and, when a verified manifest is kept there, re-verifies its pieces. */
export async function openStorage(infoHash: string, hooks: StorageHooks): Promise<OpenedStorage> {
  const memoryOnly = (why: string): OpenedStorage => {
    hooks.note(`${why} The download is kept in memory: large files may not fit, and a reload starts over.`);
    return { store: new MemoryPieceStore(), options: {}, resumed: null, kind: 'memory' };
  };
  if (!opfsAvailable()) return memoryOnly('This browser has no origin private file system.');
  let store: OpfsPieceStore;
  try {
    store = await OpfsPieceStore.open(infoHash);
  } catch (err) {
    return memoryOnly(`This browser refused file storage (${(err as Error).message}).`);
  }
  // Ask the browser not to evict the pieces under storage pressure; it may say no.
  void navigator.storage.persist?.().catch(() => false);
  const manifest = await loadManifest(infoHash);
  if (!manifest) return { store, options: {}, resumed: null, kind: 'opfs' };
  hooks.onManifest(manifest);
  hooks.status(`Checking the pieces of ${manifest.name} already in this browser…`);
  const indexes = await worker.verify(infoHash, manifest, hooks.onVerify);
  const have = new Bitfield(manifest.pieces.length);
  for (const i of indexes) have.set(i);
  const resumed = new Bitfield(have.length, have.bytes);
  return { store, options: { manifest, have }, resumed, kind: 'opfs' };
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
