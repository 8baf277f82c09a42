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

const PathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => p.split('/').every(isSafeSegment), 'path must be relative, with no empty, "." or ".." segments');

const FileSchema = z.strictObject({
  path: PathSchema,
  length: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

const ManifestSchema = z
  .strictObject({
    version: z.literal(MANIFEST_VERSION),
    name: z.string().refine(isSafeSegment, 'name must be one safe path segment'),
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
    // Paths must stay distinct on case-insensitive file systems, and no file may also be a folder.
    const paths = new Set(m.files.map((f) => f.path.toLowerCase()));
    if (paths.size !== m.files.length) ctx.addIssue({ code: 'custom', message: 'duplicate file path' });
    for (const path of paths) {
      for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
        if (paths.has(path.slice(0, i))) {
          ctx.addIssue({ code: 'custom', message: `"${path.slice(0, i)}" is both a file and a folder` });
          return;
        }
      }
    }
  });

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
