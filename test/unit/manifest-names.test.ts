import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFiles } from '@ringswarm/cli';
import {
  createManifest,
  decodeManifest,
  encodeManifest,
  infoHashOf,
  type Manifest,
  parseManifest,
  saveSegment,
  sha256Hex,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { safeSegment } from '../../web-client/src/save.js';
import { layout } from '../../web-client/src/share.js';
import { errorCode } from '../helpers/error-code.js';

/** A manifest of zero-length files at these paths: only the names can make it fail. */
const withPaths = (...paths: string[]) => ({
  version: 1,
  name: 'set',
  length: 0,
  pieceLength: 16 * 1024,
  files: paths.map((path) => ({ path, length: 0 })),
  pieces: [],
});

/** Parsed from a peer, straight and through the wire encoding: the code it is refused with. */
const refusal = (value: unknown) => {
  const direct = errorCode(() => parseManifest(value));
  expect(errorCode(() => decodeManifest(new TextEncoder().encode(JSON.stringify(value))))).toBe(direct);
  return direct;
};

const NFC = 'set/caf\u00e9.txt';
const NFD = 'set/cafe\u0301.txt';

describe('manifest names that would be one file on disk', () => {
  it.each([
    ['NFC and NFD forms of one name', NFC, NFD],
    ['a case pair', 'set/Report.PDF', 'set/report.pdf'],
    ['a case pair in a folder name', 'set/Docs/a.txt', 'set/docs/A.txt'],
    ['names the page saves as one ("a?b", "a*b")', 'set/a?b', 'set/a*b'],
    ['a reserved character and the "_" it is saved as', 'set/x:y', 'set/x_y'],
  ])('refuses %s', (_what, a, b) => {
    expect(refusal(withPaths(a, b))).toBe('ERR_BAD_METADATA');
  });

  it('keeps names that stay apart', () => {
    expect(refusal(withPaths('set/a?b', 'set/a?c', NFC, 'set/Report.PDF'))).toBeUndefined();
  });

  it('refuses a file that another path, folded, uses as a folder', () => {
    expect(refusal(withPaths('set/Docs', 'set/docs/a.txt'))).toBe('ERR_BAD_METADATA');
  });

  it('says which two paths collide', () => {
    expect(() => parseManifest(withPaths('set/a?b', 'set/a*b'))).toThrow(/"set\/a\?b" and "set\/a\*b"/);
  });
});

describe('names that show as something else', () => {
  const hidden = [
    ['a right-to-left override', 'invoice\u202efdp.exe'],
    ['a left-to-right embedding', 'a\u202ab'],
    ['a pop directional isolate', 'a\u2069b'],
    ['a first strong isolate', 'a\u2068b'],
    ['a right-to-left mark', 'a\u200fb'],
    ['a left-to-right mark', 'a\u200eb'],
    ['an Arabic letter mark', 'a\u061cb'],
    ['a zero-width space', 'a\u200bb'],
    ['a zero-width joiner', 'a\u200db'],
    ['a word joiner', 'a\u2060b'],
    ['a byte order mark', '\ufeffa'],
  ] as const;

  it.each(hidden)('refuses %s in a path', (_what, name) => {
    expect(refusal(withPaths(`set/${name}`))).toBe('ERR_BAD_METADATA');
  });

  it.each(hidden)('refuses %s in the name', (_what, name) => {
    expect(refusal({ ...withPaths('set/a'), name })).toBe('ERR_BAD_METADATA');
  });

  it('keeps right-to-left text itself (Hebrew, Arabic)', () => {
    expect(
      refusal(withPaths('set/\u05e9\u05dc\u05d5\u05dd.txt', 'set/\u0645\u0631\u062d\u0628\u0627.txt')),
    ).toBeUndefined();
  });
});

describe('the resume folder', () => {
  it.each([['.ringswarm/0123.json'], ['.ringswarm'], ['.RingSwarm/x']])('refuses a top-level %s', (path) => {
    expect(refusal(withPaths(path))).toBe('ERR_BAD_METADATA');
  });

  it('allows .ringswarm below the top', () => {
    expect(refusal(withPaths('set/.ringswarm/x'))).toBeUndefined();
  });
});

describe('what peers hash stays what the seeder encoded', () => {
  it('an NFD name validates as it is: no name is rewritten, so the infohash does not change', async () => {
    const manifest: Manifest = createManifest({
      name: 'cafe\u0301',
      files: [{ path: 'cafe\u0301/Cafe\u0301 A?.txt', length: 0 }],
      pieceLength: 16 * 1024,
      pieces: [],
    });
    const bytes = encodeManifest(manifest);
    const decoded = decodeManifest(bytes);
    expect(decoded.files[0]!.path).toBe('cafe\u0301/Cafe\u0301 A?.txt');
    expect(decoded.name).toBe('cafe\u0301');
    expect(await infoHashOf(decoded)).toBe(await sha256Hex(bytes));
  });
});

describe('one save mapping for the check and the page', () => {
  it('the page saves segments with the shared function', () => {
    expect(safeSegment).toBe(saveSegment);
    expect(saveSegment('a?b')).toBe(saveSegment('a*b'));
  });

  it('the page numbers picked files that would save as one, and refuses a hidden character naming the file', () => {
    const picked = (path: string) => ({ path, file: new File([], path.split('/').at(-1) ?? path) });
    const { files } = layout([
      picked('set/a?b'),
      picked('set/a*b'),
      picked(`set/${'cafe\u0301'}`),
      picked('set/caf\u00e9'),
    ]);
    expect(() => parseManifest(withPaths(...files.map((f) => f.path)))).not.toThrow();
    expect(files.map((f) => f.path)).toHaveLength(4);
    expect(() => layout([picked('set/invoice\u202efdp.exe')])).toThrow(
      expect.objectContaining({ code: 'ERR_UNSAFE_NAME', message: expect.stringContaining('invoice') }),
    );
  });
});

describe('seeding local files with such names (the CLI)', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const folder = async (names: string[]) => {
    const root = await mkdtemp(join(tmpdir(), 'ringswarm-names-'));
    dirs.push(root);
    const share = join(root, 'share');
    await mkdir(share);
    for (const n of names) await writeFile(join(share, n), n);
    return share;
  };

  it('refuses a file with a right-to-left override, naming it', async () => {
    const share = await folder(['ok.txt', 'invoice\u202efdp.exe']);
    await expect(listFiles(share)).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_UNSAFE_NAME', message: expect.stringContaining(join(share, 'invoice')) }),
    );
  });

  it('refuses two files that would be saved as one, naming both', async () => {
    const share = await folder(['a?b', 'a*b']);
    await expect(listFiles(share)).rejects.toThrow(
      expect.objectContaining({
        code: 'ERR_UNSAFE_NAME',
        message: expect.stringMatching(/share\/a\?b.*share\/a\*b|share\/a\*b.*share\/a\?b/),
      }),
    );
  });

  it('refuses NFC and NFD forms of one name side by side', async () => {
    const share = await folder(['caf\u00e9', 'cafe\u0301']);
    await expect(listFiles(share)).rejects.toThrow(expect.objectContaining({ code: 'ERR_UNSAFE_NAME' }));
  });

  it('refuses sharing a folder named .ringswarm', async () => {
    const share = await folder(['x']);
    const state = join(share, '.ringswarm');
    await mkdir(state);
    await writeFile(join(state, 'y'), 'y');
    await expect(listFiles(state)).rejects.toThrow(expect.objectContaining({ code: 'ERR_UNSAFE_NAME' }));
  });
});
