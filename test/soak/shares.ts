/**
 * The soak's shares: random files written once (two single files and one folder of several
 * files, a few MiB each), their SHA-256 as the reference, and the check of a downloaded copy.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha } from '../helpers/sha.js';

const MiB = 1024 * 1024;

/** One file of a share: its path inside the share (as in the manifest), size and SHA-256. */
export interface ShareFile {
  path: string;
  length: number;
  sha: string;
}

/** A share as the soak knows it: what to pass to `ringswarm seed`, and what a copy must hold. */
export interface ShareSource {
  /** The file or folder given to `ringswarm seed`. */
  disk: string;
  files: ShareFile[];
}

/** Sizes of the share files, by path inside the share; odd sizes so last pieces are short. */
const LAYOUT: Record<string, Record<string, number>> = {
  'alpha.bin': { 'alpha.bin': 3 * MiB + 17 },
  'beta.bin': { 'beta.bin': 5 * MiB - 4099 },
  bundle: {
    'bundle/one.bin': 2 * MiB,
    'bundle/sub/two.bin': 1 * MiB + 333,
    'bundle/sub/three.txt': 40_001,
  },
};

/** Writes the random files under `dir` and returns the shares, folder share last. */
export async function writeShares(dir: string): Promise<ShareSource[]> {
  const shares: ShareSource[] = [];
  for (const [top, files] of Object.entries(LAYOUT)) {
    const list: ShareFile[] = [];
    for (const [path, length] of Object.entries(files)) {
      const data = randomBytes(length);
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), data);
      list.push({ path, length, sha: sha(data) });
    }
    // The manifest lists files sorted by path (cli/src/files.ts); keep the same order.
    list.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    shares.push({ disk: join(dir, top), files: list });
  }
  return shares;
}

/**
 * What is wrong with the copy of `files` under `dir` (SHA-256 of every saved file against the
 * original, so a longer or shorter file counts too); empty when the copy is byte-identical.
 */
export async function copyProblems(dir: string, files: readonly ShareFile[]): Promise<string[]> {
  const problems: string[] = [];
  for (const file of files) {
    let data: Buffer;
    try {
      data = await readFile(join(dir, file.path));
    } catch (err) {
      problems.push(`${file.path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      continue;
    }
    if (sha(data) !== file.sha)
      problems.push(`${file.path}: ${data.length} bytes, SHA-256 differs (want ${file.length})`);
  }
  return problems;
}
