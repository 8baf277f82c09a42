/**
 * The operator's deny list: shares this server refuses to track. One entry per line, either
 * a share link (anything with `#<64 hex infohash>`, kept as its discovery key) or a bare
 * 64-hex discovery key. Blank lines and lines starting with `#` are comments. A bad line is a
 * warning, never a crash; a file that cannot be read is an error (at start, a clear one; on a
 * reload, the old list stays).
 */
import { readFile } from 'node:fs/promises';
import { discoveryKeyOf } from '@ringswarm/shared/protocol';

/** A line that is neither a link nor a discovery key. */
export interface DenyListWarning {
  /** 1-based. */
  line: number;
  message: string;
}

export interface ParsedDenyList {
  /** Discovery keys, 64 lowercase hex digits. */
  keys: Set<string>;
  warnings: DenyListWarning[];
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
/** The infohash of a share link: `#` then 64 hex digits, ending the fragment. */
const LINK_HASH = /#([0-9a-fA-F]{64})(?![0-9a-fA-F])/;

export function parseDenyList(text: string): ParsedDenyList {
  const keys = new Set<string>();
  const warnings: DenyListWarning[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const entry = raw.trim();
    // Even `#<64 hex>`: commenting an entry out is how an operator lifts a block.
    if (entry === '' || entry.startsWith('#')) return;
    const link = LINK_HASH.exec(entry);
    if (link?.[1]) keys.add(discoveryKeyOf(link[1].toLowerCase()));
    else if (HEX64.test(entry)) keys.add(entry.toLowerCase());
    else {
      warnings.push({
        line: i + 1,
        message: 'neither a share link (…#<64 hex digits>) nor a discovery key (64 hex digits)',
      });
    }
  });
  return { keys, warnings };
}

/** The deny list could not be read. */
export class DenyListError extends Error {
  override name = 'DenyListError';
  readonly code = 'ERR_DENY_LIST';
}

/** The list in force; {@link DenyList.load} swaps it whole, or not at all. */
export class DenyList {
  #keys = new Set<string>();

  constructor(readonly file: string | undefined) {}

  /** Blocked shares in force. */
  get size(): number {
    return this.#keys.size;
  }

  has(discoveryKey: string): boolean {
    return this.#keys.has(discoveryKey);
  }

  /**
   * Reads the file again. Resolves with the new list's size and the bad lines; rejects with
   * {@link DenyListError} when the file cannot be read, and then the old list stays in force.
   */
  async load(): Promise<{ entries: number; warnings: DenyListWarning[] }> {
    if (this.file === undefined) return { entries: 0, warnings: [] };
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(err);
      throw new DenyListError(`cannot read the deny list ${this.file}: ${reason}`);
    }
    const parsed = parseDenyList(text);
    this.#keys = parsed.keys;
    return { entries: parsed.keys.size, warnings: parsed.warnings };
  }
}
