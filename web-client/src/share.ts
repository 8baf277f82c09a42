/**
 * Turns picked or dropped files (one, several, or a folder) into what a seeder needs:
 * manifest, read-only store and full bitfield. Hashing runs in the worker.
 */
import {
  Bitfield,
  choosePieceLength,
  createManifest,
  ErrorCode,
  hiddenCharacterIn,
  type Manifest,
  pathCollisionKey,
  pathProblem,
  ReaderPieceStore,
  RingswarmError,
  readAhead,
  toSafeSegment,
} from '@ringswarm/shared';
import { filesReader } from './files-reader.js';
import { worker } from './worker-client.js';

/** A file to share and its path in the share, "/"-separated, as the person's system named it. */
export interface PickedFile {
  file: File;
  path: string;
}

export interface Prepared {
  manifest: Manifest;
  store: ReaderPieceStore;
  have: Bitfield;
}

/**
 * The share's name and each file's manifest path (safe segments, sorted, as the CLI does):
 * one file is shared under its own name; a folder under the folder's name; several loose
 * files under "N files".
 */
export function layout(picked: readonly PickedFile[]): { name: string; files: { path: string; source: File }[] } {
  if (picked.length === 0) throw new RangeError('nothing to share');
  for (const p of picked) {
    // Such a name would show as something else to whoever downloads it: say so, do not hide it.
    const hidden = hiddenCharacterIn(p.path) ?? hiddenCharacterIn(p.file.name);
    if (hidden) {
      throw new RingswarmError(
        ErrorCode.UNSAFE_NAME,
        `cannot share "${p.path}": its name has an invisible or direction-changing character (${hidden})`,
      );
    }
  }
  const cleaned = picked.map((p) => ({
    segments: p.path
      .split('/')
      .filter((s) => s !== '')
      .map(toSafeSegment),
    source: p.file,
  }));
  if (cleaned.length === 1 && cleaned[0]!.segments.length <= 1) {
    const name = toSafeSegment(picked[0]!.file.name);
    return { name, files: [{ path: name, source: picked[0]!.file }] };
  }
  const tops = new Set(cleaned.map((c) => (c.segments.length > 1 ? c.segments[0] : undefined)));
  const [onlyTop] = tops;
  // A single folder: its name is the share's name and the first segment of every path.
  const name = tops.size === 1 && onlyTop !== undefined ? onlyTop : `${picked.length} files`;
  const files = cleaned.map((c) => ({
    path: onlyTop !== undefined && tops.size === 1 ? c.segments.join('/') : [name, ...c.segments].join('/'),
    source: c.source,
  }));
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  for (const f of files) {
    // Two names that would be saved as one file (case, Unicode form, characters Windows
    // refuses, or equal once cleaned) get a number, by the rule every manifest is checked with.
    let path = f.path;
    for (let n = 2; seen.has(pathCollisionKey(path)); n++) path = `${f.path} (${n})`;
    seen.add(pathCollisionKey(path));
    f.path = path;
    const problem = pathProblem(path);
    if (problem) throw new RingswarmError(ErrorCode.UNSAFE_NAME, `cannot share "${path}": ${problem}`);
  }
  return { name, files };
}

export async function prepareFiles(
  picked: readonly PickedFile[],
  onProgress: (done: number, total: number) => void,
): Promise<Prepared> {
  const { name, files } = layout(picked);
  const sources = files.map((f) => f.source);
  const total = sources.reduce((sum, f) => sum + f.size, 0);
  const pieceLength = choosePieceLength(total);
  const pieces = await worker.hash(sources, pieceLength, onProgress);
  const manifest = createManifest({
    name,
    files: files.map((f) => ({ path: f.path, length: f.source.size })),
    pieceLength,
    pieces,
  });
  // Peers ask for 16 KiB blocks, mostly in file order: read a megabyte at a time.
  const store = new ReaderPieceStore(manifest, readAhead(filesReader(sources), total));
  return { manifest, store, have: Bitfield.full(pieces.length) };
}

/** Files from an `<input type="file">` (with `webkitdirectory`, each carries its folder path). */
export function pickedFromInput(list: FileList): PickedFile[] {
  return Array.from(list).map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

/** Files from a drop, walking dropped folders (FileSystemEntry API: Chromium, Firefox, Safari). */
export async function pickedFromDrop(transfer: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(transfer.items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry())
    .filter((entry): entry is FileSystemEntry => entry !== null);
  if (entries.length === 0) return Array.from(transfer.files).map((file) => ({ file, path: file.name }));
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, path });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries answers in batches (100 in Chromium) until an empty one.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, path);
      }
    }
  };
  for (const entry of entries) await walk(entry, '');
  return out;
}
