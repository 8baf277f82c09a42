/**
 * The manifest (our .torrent): files, sizes, piece length and the SHA-256 of every piece.
 * The infohash is the SHA-256 of the manifest's canonical encoding, so a link that carries
 * the infohash lets a leecher verify a manifest it fetched from an untrusted peer.
 */
import { z } from 'zod';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { describeIssues } from '../protocol/tracker.js';
import { sha256Hex } from '../util/bytes.js';
import type { Bitfield } from './bitfield.js';

export const MANIFEST_VERSION = 1;
export const MIN_PIECE_LENGTH = 16 * 1024;
export const MAX_PIECE_LENGTH = 4 * 1024 * 1024;
/** The piece length is chosen so that a file has at most about this many pieces. */
export const TARGET_PIECE_COUNT = 1024;
export const MAX_PIECES = 1 << 20;
export const MAX_FILES = 10_000;
/** A larger encoded manifest is refused before it is parsed. */
export const MAX_MANIFEST_BYTES = 8 * 1024 * 1024;

/** Names Windows reserves for devices, with or without an extension ("NUL", "com1.txt"). */
const DEVICE_NAME_RE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * One path segment: 1..255 characters, no separators or control characters, not "." or
 * "..", not a device name, not ending in a dot or space (Windows drops those silently).
 */
export function isSafeSegment(s: string): boolean {
  if (s.length < 1 || s.length > 255 || s === '.' || s === '..') return false;
  if (DEVICE_NAME_RE.test(s) || s.endsWith('.') || s.endsWith(' ')) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2f /* / */ || c === 0x5c /* \ */) return false;
  }
  return true;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it matches
const UNSAFE_CHARACTERS = /[/\\\u0000-\u001f\u007f]/g;

/**
 * Turns any file name into a safe segment: separators and control characters become "_",
 * trailing dots and spaces go, device names get a "_" in front, long names are cut.
 */
export function toSafeSegment(name: string): string {
  let cleaned = name
    .replace(UNSAFE_CHARACTERS, '_')
    .slice(0, 255)
    .replace(/[. ]+$/, '');
  if (cleaned !== '' && !isSafeSegment(cleaned)) cleaned = `_${cleaned}`.slice(0, 255);
  return isSafeSegment(cleaned) ? cleaned : 'file';
}

/** Characters Windows refuses in file names; the page saves them as "_" (see {@link saveSegment}). */
const RESERVED_CHARACTERS = /[<>:"|?*]/g;

/**
 * One segment of a name from a peer as it is saved on any system: the characters Windows
 * refuses become "_", then {@link toSafeSegment}. The one mapping the page saves with and the
 * duplicate check of every manifest applies, so two names that would be saved as one collide.
 */
export function saveSegment(segment: string): string {
  return toSafeSegment(segment.replace(RESERVED_CHARACTERS, '_'));
}

/**
 * Characters that make a name show as something else: bidirectional controls (U+202A–U+202E,
 * U+2066–U+2069, U+200E, U+200F, U+061C: `invoice\u202Efdp.exe` shows as "invoiceexe.pdf") and
 * zero-width characters (U+200B–U+200D, U+2060, U+FEFF).
 */
const HIDDEN_CHARACTERS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff]/;

/** The first bidi control or zero-width character of `name` as "U+XXXX", or null when it has none. */
export function hiddenCharacterIn(name: string): string | null {
  const found = HIDDEN_CHARACTERS.exec(name);
  return found ? `U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` : null;
}

/** The folder the CLI keeps its resume data in, under the download folder: no share may write there. */
export const RESERVED_TOP_SEGMENT = '.ringswarm';

/**
 * What a path collides by: each segment NFC-normalised, saved as the page saves it
 * ({@link saveSegment}) and case-folded, so NFC/NFD forms, case pairs and names that differ
 * only in characters Windows refuses ("a?b", "a*b") give one key, as they give one file.
 * Only the check uses it; a manifest's names are never rewritten.
 */
export function pathCollisionKey(path: string): string {
  return path
    .split('/')
    .map((s) => saveSegment(s.normalize('NFC')).toLowerCase().normalize('NFC'))
    .join('/');
}

/**
 * Why `path` may not be in a manifest, or null when it may: a segment that is not safe
 * ({@link isSafeSegment}), a bidi or zero-width character, or a top-level `.ringswarm`.
 */
export function pathProblem(path: string): string | null {
  if (path.length < 1 || path.length > 4096) return 'path must be 1 to 4096 characters';
  if (!path.split('/').every(isSafeSegment)) return 'path must be relative, with no empty, "." or ".." segments';
  const hidden = hiddenCharacterIn(path);
  if (hidden) return `path has an invisible or direction-changing character (${hidden})`;
  if (pathCollisionKey(path).split('/')[0] === RESERVED_TOP_SEGMENT) {
    return `path may not start with "${RESERVED_TOP_SEGMENT}" (the resume folder)`;
  }
  return null;
}

const PathSchema = z.string().superRefine((p, ctx) => {
  const problem = pathProblem(p);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const FileSchema = z.strictObject({
  path: PathSchema,
  length: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

const ManifestSchema = z
  .strictObject({
    version: z.literal(MANIFEST_VERSION),
    name: z
      .string()
      .refine(isSafeSegment, 'name must be one safe path segment')
      .refine((n) => hiddenCharacterIn(n) === null, 'name has an invisible or direction-changing character'),
    length: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    pieceLength: z
      .number()
      .int()
      .min(MIN_PIECE_LENGTH)
      .max(MAX_PIECE_LENGTH)
      .refine((n) => (n & (n - 1)) === 0, 'pieceLength must be a power of two'),
    files: z.array(FileSchema).min(1).max(MAX_FILES),
    pieces: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(MAX_PIECES),
  })
  .superRefine((m, ctx) => {
    const total = m.files.reduce((sum, f) => sum + f.length, 0);
    if (total !== m.length) ctx.addIssue({ code: 'custom', message: 'file lengths do not add up to length' });
    if (m.pieces.length !== pieceCount(m.length, m.pieceLength)) {
      ctx.addIssue({ code: 'custom', message: 'piece count does not match length and pieceLength' });
    }
    const problem = collisionIn(m.files.map((f) => f.path));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/**
 * Why these paths cannot all be files side by side, or null: two that are one file once
 * saved ({@link pathCollisionKey}: case-insensitive and normalising file systems, the page's
 * save mapping), or one that is also another's folder.
 */
export function collisionIn(
  paths: readonly string[],
  /** How a path is named in the message (default: quoted). */
  label: (path: string) => string = (p) => JSON.stringify(p),
): string | null {
  const byKey = new Map<string, string>();
  for (const path of paths) {
    const key = pathCollisionKey(path);
    const other = byKey.get(key);
    if (other !== undefined) return `duplicate file path: ${label(other)} and ${label(path)} are saved as one file`;
    byKey.set(key, path);
  }
  for (const [key, path] of byKey) {
    for (let i = key.indexOf('/'); i >= 0; i = key.indexOf('/', i + 1)) {
      const file = byKey.get(key.slice(0, i));
      if (file !== undefined) return `${label(file)} is both a file and a folder (of ${label(path)})`;
    }
  }
  return null;
}

export type ManifestFile = z.infer<typeof FileSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;

export function pieceCount(length: number, pieceLength: number): number {
  return Math.ceil(length / pieceLength);
}

/** Size of piece `index` (the last piece may be short). */
export function pieceSize(manifest: Pick<Manifest, 'length' | 'pieceLength'>, index: number): number {
  const start = index * manifest.pieceLength;
  return Math.max(0, Math.min(manifest.pieceLength, manifest.length - start));
}

/** Byte range [start, end) of file `fileIndex` within the files laid end to end. */
export function fileRange(manifest: Pick<Manifest, 'files'>, fileIndex: number): { start: number; end: number } {
  let start = 0;
  for (let i = 0; i < fileIndex; i++) start += manifest.files[i]!.length;
  return { start, end: start + manifest.files[fileIndex]!.length };
}

/** Pieces that file `fileIndex` touches: [first, last], or null for an empty file. */
export function filePieces(
  manifest: Pick<Manifest, 'files' | 'pieceLength'>,
  fileIndex: number,
): { first: number; last: number } | null {
  const { start, end } = fileRange(manifest, fileIndex);
  if (end === start) return null;
  return { first: Math.floor(start / manifest.pieceLength), last: Math.floor((end - 1) / manifest.pieceLength) };
}

/**
 * Bytes held by someone who has the pieces set in `have` (one bit per piece): every piece is
 * `pieceLength` long but the last, which may be short.
 */
export function heldBytes(manifest: Pick<Manifest, 'length' | 'pieceLength'>, have: Bitfield): number {
  const count = pieceCount(manifest.length, manifest.pieceLength);
  if (have.length !== count) throw new RangeError(`have has ${have.length} bits for ${count} pieces`);
  if (have.count === 0) return 0;
  const last = count - 1;
  const shortfall = have.has(last) ? manifest.pieceLength - pieceSize(manifest, last) : 0;
  return have.count * manifest.pieceLength - shortfall;
}

/** Power of two in [16 KiB, 4 MiB] giving at most about {@link TARGET_PIECE_COUNT} pieces. */
export function choosePieceLength(totalLength: number): number {
  let length = MIN_PIECE_LENGTH;
  while (length < MAX_PIECE_LENGTH && length * TARGET_PIECE_COUNT < totalLength) length *= 2;
  return length;
}

/** Reads `length` bytes at `offset` of the concatenated files. */
export type ByteReader = (offset: number, length: number) => Promise<Uint8Array>;

/**
 * Hashes every piece of `totalLength` bytes read through `read`.
 * @param onProgress called after each piece with (piecesDone, pieceCount)
 */
export async function hashPieces(
  totalLength: number,
  pieceLength: number,
  read: ByteReader,
  onProgress?: (done: number, total: number) => void,
): Promise<string[]> {
  const count = pieceCount(totalLength, pieceLength);
  const hashes: string[] = [];
  for (let i = 0; i < count; i++) {
    const size = pieceSize({ length: totalLength, pieceLength }, i);
    const bytes = await read(i * pieceLength, size);
    if (bytes.length !== size)
      throw new RangeError(`reader returned ${bytes.length} bytes for piece ${i}, wanted ${size}`);
    hashes.push(await sha256Hex(bytes));
    onProgress?.(i + 1, count);
  }
  return hashes;
}

/** Validates a manifest-shaped value; throws {@link RingswarmError} `ERR_BAD_METADATA`. */
export function parseManifest(value: unknown): Manifest {
  const result = ManifestSchema.safeParse(value);
  if (!result.success)
    throw new RingswarmError(ErrorCode.BAD_METADATA, `invalid manifest: ${describeIssues(result.error)}`);
  return result.data;
}

/** Builds and validates a manifest. */
export function createManifest(fields: Omit<Manifest, 'version' | 'length'>): Manifest {
  const length = fields.files.reduce((sum, f) => sum + f.length, 0);
  return parseManifest({ version: MANIFEST_VERSION, ...fields, length });
}

/** The canonical encoding: JSON with a fixed key order and no whitespace, as UTF-8. */
export function encodeManifest(m: Manifest): Uint8Array {
  const canonical = {
    version: m.version,
    name: m.name,
    length: m.length,
    pieceLength: m.pieceLength,
    files: m.files.map((f) => ({ path: f.path, length: f.length })),
    pieces: m.pieces,
  };
  return new TextEncoder().encode(JSON.stringify(canonical));
}

/** Decodes and validates an encoded manifest; throws `ERR_BAD_METADATA`. */
export function decodeManifest(bytes: Uint8Array): Manifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new RingswarmError(ErrorCode.BAD_METADATA, 'manifest too large');
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new RingswarmError(ErrorCode.BAD_METADATA, 'manifest is not UTF-8 JSON');
  }
  return parseManifest(value);
}

export function infoHashOf(m: Manifest): Promise<string> {
  return sha256Hex(encodeManifest(m));
}

/**
 * A manifest kept from an earlier session (resume data), checked like one fetched from a
 * peer: it must decode, validate and hash to `infoHash`. Null when it does not; corrupt,
 * truncated or foreign bytes never throw, so the caller can discard them and start fresh.
 */
export async function loadVerifiedManifest(bytes: Uint8Array, infoHash: string): Promise<Manifest | null> {
  let manifest: Manifest;
  try {
    manifest = decodeManifest(bytes);
  } catch {
    return null;
  }
  return (await infoHashOf(manifest)) === infoHash ? manifest : null;
}
