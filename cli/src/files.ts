/** Lists what `ringswarm seed` shares: one file, or every regular file under a folder. */
import { lstat, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { toSafeSegment } from '@ringswarm/shared';

export interface SharedFile {
  /** Path in the manifest: safe segments joined by "/". */
  path: string;
  /** Where the bytes are on disk. */
  disk: string;
  length: number;
}

/** The files in manifest order (sorted by path), and the share's name. */
export async function listFiles(target: string, name?: string): Promise<{ name: string; files: SharedFile[] }> {
  const root = resolve(target);
  const top = toSafeSegment(name ?? basename(root));
  const info = await lstat(root);
  if (info.isFile()) return { name: top, files: [{ path: top, disk: root, length: info.size }] };
  if (!info.isDirectory()) throw new Error(`${target} is neither a file nor a folder`);
  const files: SharedFile[] = [];
  const walk = async (dir: string, prefix: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const disk = join(dir, entry.name);
      const path = `${prefix}/${toSafeSegment(entry.name)}`;
      // Symbolic links are not followed: a share holds what is in the folder itself.
      if (entry.isDirectory()) await walk(disk, path);
      else if (entry.isFile()) files.push({ path, disk, length: (await lstat(disk)).size });
    }
  };
  await walk(root, top);
  if (files.length === 0) throw new Error(`${target} has no files to share`);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { name: top, files };
}
