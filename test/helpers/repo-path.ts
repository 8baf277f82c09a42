import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file whose package.json is the workspace root. */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"workspaces"\s*:/.test(readFileSync(manifest, 'utf8'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no workspace root (package.json with "workspaces") above the test helpers');
    dir = parent;
  }
}

const ROOT = findRoot();

/**
 * A path inside the repository. Helpers use this instead of a path relative to their own
 * file, so they work both from test/helpers (vitest) and compiled into a script's dist/.
 */
export const repoPath = (relative: string): string => join(ROOT, relative);
