/**
 * Saving a download. Each file is a Blob made of slices of the piece files in OPFS (or of
 * the piece Blobs in IndexedDB), so the browser streams it from disk: through a
 * `<a download>` link everywhere, or, where the File System Access API exists (Chromium),
 * straight into a folder the person picks, keeping the share's folder structure. Names come from peers: every segment is sanitized again here.
 */
import { fileRange, type Manifest, type PieceStore, pieceSize, saveSegment } from '@ringswarm/shared';
import { isKeptStore } from './storage.js';

/**
 * One segment of a name from a peer, made safe to create on any system: the shared mapping
 * that every manifest's duplicate check applies too, so two names never save as one file.
 */
export const safeSegment: (segment: string) => string = saveSegment;

/** A file's path from a manifest, as safe segments (a hostile manifest cannot climb out). */
export const safeSegments = (path: string): string[] =>
  path
    .split('/')
    .filter((s) => s !== '')
    .map(safeSegment);

/** The name a file is saved under: its last path segment, sanitized. */
export const saveName = (path: string): string => safeSegments(path).at(-1) ?? 'file';

/** File `fileIndex` of a complete-enough download as a Blob. */
export async function fileBlob(store: PieceStore, manifest: Manifest, fileIndex: number): Promise<Blob> {
  if (isKeptStore(store)) return store.fileBlob(manifest, fileIndex);
  // In-memory fallback (no OPFS, no IndexedDB): copy the file's bytes out of the pieces.
  const { start, end } = fileRange(manifest, fileIndex);
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let index = Math.floor(start / manifest.pieceLength); index * manifest.pieceLength < end; index++) {
    const pieceStart = index * manifest.pieceLength;
    const from = Math.max(0, start - pieceStart);
    const to = Math.min(pieceSize(manifest, index), end - pieceStart);
    parts.push((await store.read(index, from, to - from)).slice());
  }
  return new Blob(parts, { type: 'application/octet-stream' });
}

interface DirectoryPickerWindow {
  showDirectoryPicker(options: { mode: 'readwrite'; id?: string }): Promise<FileSystemDirectoryHandle>;
}

/** True when the browser can write into a folder the person picks (File System Access API). */
export function canSaveToFolder(): boolean {
  return typeof (window as Partial<DirectoryPickerWindow>).showDirectoryPicker === 'function';
}

/**
 * Asks for a folder and streams the given files into it, creating subfolders as the share
 * has them. Must run from a click. Resolves with the number of files written.
 */
export async function saveToFolder(
  files: { path: string; blob: () => Promise<Blob> }[],
  onFile: (path: string) => void,
): Promise<number> {
  const root = await (window as unknown as DirectoryPickerWindow).showDirectoryPicker({
    mode: 'readwrite',
    id: 'ringswarm',
  });
  let written = 0;
  for (const file of files) {
    const segments = safeSegments(file.path);
    const name = segments.pop() ?? 'file';
    let dir = root;
    for (const segment of segments) dir = await dir.getDirectoryHandle(segment, { create: true });
    onFile(file.path);
    const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
    // pipeTo closes the writable when the stream ends, and aborts it on error.
    await (await file.blob()).stream().pipeTo(writable);
    written++;
  }
  return written;
}
