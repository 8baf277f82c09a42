/** Lists what `ringswarm seed` shares: one file, or every regular file under a folder. */
import { lstat, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  collisionIn,
  ErrorCode,
  hiddenCharacterIn,
  pathProblem,
  RingswarmError,
  toSafeSegment,
} from '@ringswarm/shared';

export interface SharedFile {
  /** Path in the manifest: safe segments joined by "/". */
  path: string;
  /** Where the bytes are on disk. */
  disk: string;
  length: number;
}

/**
 * A name that would show as something else to whoever downloads it (a bidi control or a
 * zero-width character) is refused, naming the file, rather than shared or silently changed.
 */
function checkName(name: string, disk: string): void {
  const hidden = hiddenCharacterIn(name);
  if (hidden) {
    throw new RingswarmError(
      ErrorCode.UNSAFE_NAME,
      `cannot share ${JSON.stringify(disk)}: its name has an invisible or direction-changing character (${hidden})`,
    );
  }
}

/**
 * The files in manifest order (sorted by path), and the share's name. Throws `ERR_UNSAFE_NAME`
 * naming the file when a name has a bidi or zero-width character, when two files would be
 * saved as one (case, Unicode form, characters Windows refuses), or for a `.ringswarm` share.
 */
export async function listFiles(target: string, name?: string): Promise<{ name: string; files: SharedFile[] }> {
  const root = resolve(target);
  checkName(name ?? basename(root), root);
  const top = toSafeSegment(name ?? basename(root));
  const info = await lstat(root);
  if (info.isFile()) return { name: top, files: checked([{ path: top, disk: root, length: info.size }]) };
  if (!info.isDirectory()) throw new Error(`${target} is neither a file nor a folder`);
  const files: SharedFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      // Symbolic links are not followed: a share holds what is in the folder itself.
      if (!entry.isDirectory() && !entry.isFile()) continue;
      const disk = join(dir, entry.name);
      checkName(entry.name, disk);
      const path = `${prefix}/${toSafeSegment(entry.name)}`;
      if (entry.isDirectory()) await walk(disk, path);
      else if (entry.isFile()) files.push({ path, disk, length: (await lstat(disk)).size });
    }
  };
  await walk(root, top);
  if (files.length === 0) throw new Error(`${target} has no files to share`);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { name: top, files: checked(files) };
}

/** The files, once every path passes the manifest's own rules; otherwise `ERR_UNSAFE_NAME` naming the files. */
function checked(files: SharedFile[]): SharedFile[] {
  for (const f of files) {
    const problem = pathProblem(f.path);
    if (problem) throw new RingswarmError(ErrorCode.UNSAFE_NAME, `cannot share ${JSON.stringify(f.disk)}: ${problem}`);
  }
  const disk = new Map(files.map((f) => [f.path, f.disk]));
  const clash = collisionIn(
    files.map((f) => f.path),
    (p) => JSON.stringify(disk.get(p) ?? p),
  );
  if (clash) throw new RingswarmError(ErrorCode.UNSAFE_NAME, `cannot share these files side by side: ${clash}`);
  return files;
}
