import {
  Bitfield,
  choosePieceLength,
  collisionIn,
  createManifest,
  decodeManifest,
  encodeManifest,
  hashPieces,
  heldBytes,
  hiddenCharacterIn,
  infoHashOf,
  isSafeSegment,
  MAX_MANIFEST_BYTES,
  MAX_PIECE_LENGTH,
  type Manifest,
  MIN_PIECE_LENGTH,
  parseManifest,
  pathCollisionKey,
  pathProblem,
  pieceCount,
  pieceSize,
  TARGET_PIECE_COUNT,
} from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/error-code.js';
import { sha } from '../helpers/sha.js';

const fakeHash = (seed: string) => sha(seed);

/** A valid two-file manifest: 40 000 bytes in 16 KiB pieces, so the last of 3 pieces is short. */
function sample(): Manifest {
  return createManifest({
    name: 'album',
    files: [
      { path: 'disc 1/one.bin', length: 30_000 },
      { path: 'two.bin', length: 10_000 },
    ],
    pieceLength: MIN_PIECE_LENGTH,
    pieces: [fakeHash('p0'), fakeHash('p1'), fakeHash('p2')],
  });
}

function bytesOf(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe('choosePieceLength', () => {
  const isPowerOfTwo = (n: number) => Number.isInteger(Math.log2(n));

  it('is a power of two within [16 KiB, 4 MiB], the smallest that keeps the piece count near the target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 44 }), (total) => {
        const length = choosePieceLength(total);
        expect(isPowerOfTwo(length)).toBe(true);
        expect(length).toBeGreaterThanOrEqual(MIN_PIECE_LENGTH);
        expect(length).toBeLessThanOrEqual(MAX_PIECE_LENGTH);
        if (length < MAX_PIECE_LENGTH) expect(pieceCount(total, length)).toBeLessThanOrEqual(TARGET_PIECE_COUNT);
        // Not needlessly large: half the length would have given too many pieces.
        if (length > MIN_PIECE_LENGTH) expect(pieceCount(total, length / 2)).toBeGreaterThan(TARGET_PIECE_COUNT);
      }),
    );
  });

  it('switches length exactly at the target piece count', () => {
    expect(choosePieceLength(0)).toBe(MIN_PIECE_LENGTH);
    expect(choosePieceLength(MIN_PIECE_LENGTH * TARGET_PIECE_COUNT)).toBe(MIN_PIECE_LENGTH);
    expect(choosePieceLength(MIN_PIECE_LENGTH * TARGET_PIECE_COUNT + 1)).toBe(2 * MIN_PIECE_LENGTH);
    expect(choosePieceLength(MAX_PIECE_LENGTH * TARGET_PIECE_COUNT)).toBe(MAX_PIECE_LENGTH);
    expect(choosePieceLength(MAX_PIECE_LENGTH * TARGET_PIECE_COUNT * 100)).toBe(MAX_PIECE_LENGTH);
  });
});

describe('hashPieces', () => {
  it('hashes each piece like node:crypto, including a short last piece, and reports progress', async () => {
    const data = bytesOf(7, 2 * MIN_PIECE_LENGTH + 1234);
    const reads: [number, number][] = [];
    const progress: [number, number][] = [];

    const hashes = await hashPieces(
      data.length,
      MIN_PIECE_LENGTH,
      async (offset, length) => {
        reads.push([offset, length]);
        return data.subarray(offset, offset + length);
      },
      (done, total) => progress.push([done, total]),
    );

    expect(hashes).toEqual([
      sha(data.subarray(0, MIN_PIECE_LENGTH)),
      sha(data.subarray(MIN_PIECE_LENGTH, 2 * MIN_PIECE_LENGTH)),
      sha(data.subarray(2 * MIN_PIECE_LENGTH)),
    ]);
    expect(reads).toEqual([
      [0, MIN_PIECE_LENGTH],
      [MIN_PIECE_LENGTH, MIN_PIECE_LENGTH],
      [2 * MIN_PIECE_LENGTH, 1234],
    ]);
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('agrees with node:crypto for any length', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 5 * MIN_PIECE_LENGTH }), async (length) => {
        const data = bytesOf(length, length);
        const hashes = await hashPieces(length, MIN_PIECE_LENGTH, async (o, n) => data.subarray(o, o + n));
        const expected: string[] = [];
        for (let o = 0; o < length; o += MIN_PIECE_LENGTH) expected.push(sha(data.subarray(o, o + MIN_PIECE_LENGTH)));
        expect(hashes).toEqual(expected);
      }),
      { numRuns: 30 },
    );
  });

  it('has nothing to hash for an empty input', async () => {
    const progress: number[] = [];
    const hashes = await hashPieces(
      0,
      MIN_PIECE_LENGTH,
      async () => new Uint8Array(0),
      (done) => progress.push(done),
    );
    expect(hashes).toEqual([]);
    expect(progress).toEqual([]);
  });

  it('rejects a reader that returns the wrong number of bytes', async () => {
    const short = async (_offset: number, length: number) => new Uint8Array(length - 1);
    await expect(hashPieces(MIN_PIECE_LENGTH, MIN_PIECE_LENGTH, short)).rejects.toThrow(RangeError);
  });
});

describe('manifest encoding', () => {
  // Any name and file set the manifest accepts (the rules themselves are tested below and in
  // manifest-names.test.ts): safe segments with no hidden characters, paths with no problem,
  // and no two paths that are one file once saved.
  const segment = fc
    .string({ unit: 'binary', minLength: 1, maxLength: 12 })
    .filter((s) => isSafeSegment(s) && hiddenCharacterIn(s) === null);
  const path = fc
    .array(segment, { minLength: 1, maxLength: 3 })
    .map((parts) => parts.join('/'))
    .filter((p) => pathProblem(p) === null);
  const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
  const manifestFields = fc
    .record({
      name: segment,
      files: fc
        .uniqueArray(fc.record({ path, length: fc.integer({ min: 0, max: 50_000 }) }), {
          minLength: 1,
          maxLength: 5,
          selector: (f) => pathCollisionKey(f.path),
        })
        .filter((files) => collisionIn(files.map((f) => f.path)) === null),
      pieceLength: fc.constantFrom(MIN_PIECE_LENGTH, 2 * MIN_PIECE_LENGTH, 4 * MIN_PIECE_LENGTH),
    })
    .chain((fields) => {
      const total = fields.files.reduce((sum, f) => sum + f.length, 0);
      const count = pieceCount(total, fields.pieceLength);
      return fc.array(hex64, { minLength: count, maxLength: count }).map((pieces) => ({ ...fields, pieces }));
    });

  it('createManifest fills in version and total length', () => {
    const m = sample();
    expect(m.version).toBe(1);
    expect(m.length).toBe(40_000);
  });

  it('round-trips through encodeManifest/decodeManifest', () => {
    fc.assert(
      fc.property(manifestFields, (fields) => {
        const m = createManifest(fields);
        expect(decodeManifest(encodeManifest(m))).toEqual(m);
      }),
    );
  });

  it('is canonical: compact JSON with a fixed key order, whatever order the input had', async () => {
    const m = sample();
    const shuffled = parseManifest({
      pieces: m.pieces,
      files: m.files.map((f) => ({ length: f.length, path: f.path })),
      pieceLength: m.pieceLength,
      length: m.length,
      name: m.name,
      version: m.version,
    });
    const bytes = encodeManifest(m);

    expect(encodeManifest(shuffled)).toEqual(bytes);
    expect(encodeManifest(m)).toEqual(bytes);
    expect(await infoHashOf(shuffled)).toBe(await infoHashOf(m));

    const text = new TextDecoder().decode(bytes);
    const json = JSON.parse(text);
    expect(text).toBe(JSON.stringify(json));
    expect(Object.keys(json)).toEqual(['version', 'name', 'length', 'pieceLength', 'files', 'pieces']);
    expect(Object.keys(json.files[0])).toEqual(['path', 'length']);
  });

  it('infoHashOf is the SHA-256 of the canonical encoding', async () => {
    const m = sample();
    expect(await infoHashOf(m)).toBe(sha(encodeManifest(m)));
  });

  it('infoHashOf changes when any field changes', async () => {
    const base = sample();
    const [one, two] = base.files as [Manifest['files'][0], Manifest['files'][0]];
    const variants: Manifest[] = [
      base,
      createManifest({ ...base, name: 'album2' }),
      createManifest({ ...base, files: [{ ...one, path: 'disc 1/uno.bin' }, two] }),
      createManifest({ ...base, files: [two, one] }),
      // Same total length, bytes moved from one file to the other.
      createManifest({
        ...base,
        files: [
          { ...one, length: 29_999 },
          { ...two, length: 10_001 },
        ],
      }),
      createManifest({ ...base, files: [{ ...one, length: 30_001 }, two], pieces: base.pieces }),
      createManifest({ ...base, pieceLength: 2 * MIN_PIECE_LENGTH, pieces: base.pieces.slice(0, 2) }),
      createManifest({ ...base, pieces: [fakeHash('other'), ...base.pieces.slice(1)] }),
    ];
    const hashes = await Promise.all(variants.map(infoHashOf));
    expect(new Set(hashes).size).toBe(variants.length);
  });
});

describe('manifest validation', () => {
  const badMetadata = 'ERR_BAD_METADATA';
  const withLength = (path: string, length: number) => ({ path, length });
  const withFile = (path: string) => ({ ...sample(), files: [withLength(path, 40_000)] });
  const hashes = (n: number) => Array.from({ length: n }, (_, i) => fakeHash(`h${i}`));

  it('accepts the sample', () => {
    expect(errorCode(() => parseManifest(sample()))).toBeUndefined();
  });

  it.each([
    ['one piece too many', () => ({ ...sample(), pieces: [...sample().pieces, fakeHash('extra')] })],
    ['one piece too few', () => ({ ...sample(), pieces: sample().pieces.slice(1) })],
    ['lengths not adding up', () => ({ ...sample(), length: 40_001 })],
    // Piece lists sized to match, so that only the piece length is wrong.
    ['a non-power-of-two pieceLength', () => ({ ...sample(), pieceLength: 3 * MIN_PIECE_LENGTH, pieces: hashes(1) })],
    ['a pieceLength below 16 KiB', () => ({ ...sample(), pieceLength: MIN_PIECE_LENGTH / 2, pieces: hashes(5) })],
    ['a pieceLength above 4 MiB', () => ({ ...sample(), pieceLength: 2 * MAX_PIECE_LENGTH, pieces: hashes(1) })],
    ['a piece hash in upper case', () => ({ ...sample(), pieces: sample().pieces.map((p) => p.toUpperCase()) })],
    ['a short piece hash', () => ({ ...sample(), pieces: sample().pieces.map((p) => p.slice(1)) })],
    ['another version', () => ({ ...sample(), version: 2 })],
    ['an unknown key', () => ({ ...sample(), comment: 'hi' })],
    ['an unknown file key', () => ({ ...sample(), files: [{ path: 'a', length: 40_000, mode: 0o644 }] })],
    ['no files', () => ({ ...sample(), files: [], length: 0, pieces: [] })],
    ['a negative file length', () => ({ ...sample(), files: [withLength('a', 40_001), withLength('neg', -1)] })],
    ['a fractional length', () => ({ ...sample(), length: 0.5, files: [withLength('f', 0.5)], pieces: hashes(1) })],
    ['a duplicate path', () => ({ ...sample(), files: sample().files.map((f) => ({ ...f, path: 'same.bin' })) })],
    ['a parent-directory path', () => withFile('../x')],
    ['a path escaping through a later segment', () => withFile('a/../../x')],
    ['an absolute path', () => withFile('/abs')],
    ['an empty segment', () => withFile('a//b')],
    ['a trailing slash', () => withFile('a/')],
    ['a "." path', () => withFile('.')],
    ['a "." segment', () => withFile('a/./b')],
    ['an empty path', () => withFile('')],
    ['a backslash in a path', () => withFile('a\\..\\x')],
    ['a NUL in a path', () => withFile('a\u0000b')],
    ['a newline in a path', () => withFile('a\nb')],
    ['a DEL in a path', () => withFile('a\u007fb')],
    ['a segment longer than 255', () => withFile('x'.repeat(256))],
    ['a name with a slash', () => ({ ...sample(), name: 'a/b' })],
    ['a name with a backslash', () => ({ ...sample(), name: 'a\\b' })],
    ['a name with a control character', () => ({ ...sample(), name: 'a\tb' })],
    ['a ".." name', () => ({ ...sample(), name: '..' })],
    ['an empty name', () => ({ ...sample(), name: '' })],
    ['not an object', () => 'manifest'],
    ['null', () => null],
  ])('rejects %s', (_what, make) => {
    const value: unknown = make();
    expect(errorCode(() => parseManifest(value))).toBe(badMetadata);
    expect(errorCode(() => decodeManifest(new TextEncoder().encode(JSON.stringify(value))))).toBe(badMetadata);
  });

  it('rejects bytes that are not JSON', () => {
    const text = new TextDecoder().decode(encodeManifest(sample()));
    for (const bad of ['', '{', text.slice(0, -1), `${text}}`, 'undefined']) {
      expect(errorCode(() => decodeManifest(new TextEncoder().encode(bad)))).toBe(badMetadata);
    }
  });

  it('rejects invalid UTF-8 instead of replacing it', () => {
    const bytes = encodeManifest(sample());
    const at = new TextDecoder().decode(bytes).indexOf('"album"') + 2;
    const bad = bytes.slice();
    bad[at] = 0xff;
    expect(errorCode(() => decodeManifest(bad))).toBe(badMetadata);
    // A lenient decoder would have let it through: U+FFFD is a legal name character.
    expect(parseManifest(JSON.parse(new TextDecoder().decode(bad))).name).toBe('a\ufffdbum');

    const overlong = new Uint8Array([...bytes.subarray(0, at), 0xc0, 0xaf, ...bytes.subarray(at + 1)]);
    expect(errorCode(() => decodeManifest(overlong))).toBe(badMetadata);
  });

  it(`refuses an encoding over ${MAX_MANIFEST_BYTES} bytes before parsing it`, () => {
    // Valid JSON padded with trailing whitespace: only the size can make it fail.
    const encoded = encodeManifest(sample());
    const pad = (size: number) => {
      const out = new Uint8Array(size).fill(0x20);
      out.set(encoded);
      return out;
    };
    expect(decodeManifest(pad(MAX_MANIFEST_BYTES))).toEqual(sample());
    expect(errorCode(() => decodeManifest(pad(MAX_MANIFEST_BYTES + 1)))).toBe(badMetadata);
  });
});

describe('manifest paths that would clash on disk', () => {
  const base = { name: 'set', pieceLength: 16 * 1024, pieces: [] as string[] };
  it('rejects a path that is both a file and a folder, and paths equal but for case', () => {
    for (const files of [
      [
        { path: 'a', length: 0 },
        { path: 'a/b', length: 0 },
      ],
      [
        { path: 'Photo.JPG', length: 0 },
        { path: 'photo.jpg', length: 0 },
      ],
    ]) {
      expect(() => createManifest({ ...base, files })).toThrow(expect.objectContaining({ code: 'ERR_BAD_METADATA' }));
    }
    expect(
      createManifest({
        ...base,
        files: [
          { path: 'a/b', length: 0 },
          { path: 'a/c', length: 0 },
        ],
      }).files,
    ).toHaveLength(2);
  });
});

describe('readAhead', () => {
  it('serves any range with the same bytes as the reader, in few large reads', async () => {
    const { readAhead } = await import('@ringswarm/shared');
    const data = new Uint8Array(10_000).map((_, i) => (i * 7) % 251);
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.nat({ max: 9_999 }).chain((o) => fc.tuple(fc.constant(o), fc.nat({ max: 10_000 - o }))),
          { minLength: 1, maxLength: 40 },
        ),
        async (ranges) => {
          let calls = 0;
          const reader = readAhead(
            async (o, n) => {
              calls++;
              return data.slice(o, o + n);
            },
            data.length,
            1_000,
            4,
          );
          for (const [o, n] of ranges) expect(await reader(o, n)).toEqual(data.subarray(o, o + n));
          // Never more reads than chunks touched.
          expect(calls).toBeLessThanOrEqual(
            ranges.reduce((sum, [o, n]) => sum + Math.ceil((o + n) / 1000) - Math.floor(o / 1000) + 1, 0),
          );
        },
      ),
    );
    let reads = 0;
    const blocks = readAhead(
      async (o, n) => {
        reads++;
        return data.slice(o, o + n);
      },
      data.length,
      1_000,
      4,
    );
    for (let o = 0; o < 10_000; o += 100) await blocks(o, 100);
    expect(reads).toBe(10);
  });
});

describe('device names and toSafeSegment', () => {
  it('refuses device names and names ending in a dot or space, and cleans any name into a safe one', async () => {
    const { isSafeSegment, toSafeSegment } = await import('@ringswarm/shared');
    for (const bad of ['CON', 'nul.txt', 'com1', 'LPT9.log', 'name.', 'name ', '..', '.'])
      expect(isSafeSegment(bad)).toBe(false);
    for (const ok of ['console.log', 'nullable', 'a.b', 'photo 1.jpg']) expect(isSafeSegment(ok)).toBe(true);
    expect(toSafeSegment('a/b\\c\u0001d')).toBe('a_b_c_d');
    expect(toSafeSegment('aux.c')).toBe('_aux.c');
    expect(toSafeSegment('report. ')).toBe('report');
    expect(toSafeSegment('...')).toBe('file');
    expect(toSafeSegment('x'.repeat(300))).toHaveLength(255);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (name) => {
        expect(isSafeSegment(toSafeSegment(name))).toBe(true);
      }),
    );
  });
});

describe('heldBytes', () => {
  it('is the sum of the sizes of the pieces held, the short last piece included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 64 * MIN_PIECE_LENGTH }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.boolean(), { maxLength: 80 }),
        (length, shift, picks) => {
          const pieceLength = MIN_PIECE_LENGTH << shift;
          const count = Math.ceil(length / pieceLength);
          const have = new Bitfield(count);
          let expected = 0;
          for (let i = 0; i < count; i++) {
            if (!picks[i]) continue;
            have.set(i);
            expected += pieceSize({ length, pieceLength }, i);
          }
          expect(heldBytes({ length, pieceLength }, have)).toBe(expected);
        },
      ),
    );
  });

  it('is the whole length when every piece is held, and refuses a bitfield of another size', () => {
    const m = { length: 3 * MIN_PIECE_LENGTH + 5, pieceLength: MIN_PIECE_LENGTH };
    expect(heldBytes(m, Bitfield.full(4))).toBe(m.length);
    expect(heldBytes(m, new Bitfield(4))).toBe(0);
    expect(() => heldBytes(m, new Bitfield(3))).toThrow(RangeError);
  });
});
