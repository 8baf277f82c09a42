/** The web client's pure parts: share layout, names saved to disk, ICE answers, ring positions, ring keys. */
import { describe, expect, it } from 'vitest';
import { parseIceServers } from '../../web-client/src/ice.js';
import { parseRingKey } from '../../web-client/src/lookup-view.js';
import { connectionLabel } from '../../web-client/src/panels/peers.js';
import { turnOf } from '../../web-client/src/panels/ring.js';
import { safeSegments, saveName } from '../../web-client/src/save.js';
import { layout } from '../../web-client/src/share.js';

const file = (name: string, size = 1) => new File([new Uint8Array(size)], name);
const picked = (path: string) => ({ file: file(path.split('/').pop()!), path });

describe('share layout', () => {
  it('one file is shared under its own name', () => {
    const { name, files } = layout([picked('report.pdf')]);
    expect(name).toBe('report.pdf');
    expect(files.map((f) => f.path)).toEqual(['report.pdf']);
  });

  it('a folder is shared under the folder name, paths sorted, as the CLI lays it out', () => {
    const { name, files } = layout([picked('album/z.bin'), picked('album/sub/b.bin'), picked('album/a.bin')]);
    expect(name).toBe('album');
    expect(files.map((f) => f.path)).toEqual(['album/a.bin', 'album/sub/b.bin', 'album/z.bin']);
  });

  it('loose files get a common folder, and names that clash without case get numbered', () => {
    const { name, files } = layout([picked('A.txt'), picked('a.txt'), picked('b.txt')]);
    expect(name).toBe('3 files');
    expect(files.map((f) => f.path)).toEqual(['3 files/A.txt', '3 files/a.txt (2)', '3 files/b.txt']);
  });

  it('unsafe segments are cleaned before they reach the manifest', () => {
    const { files } = layout([picked('dir/../x'), picked('dir/con.txt')]);
    expect(files.map((f) => f.path)).toEqual(['dir/_con.txt', 'dir/file/x']);
  });
});

describe('names saved to disk', () => {
  it('keeps only safe segments: no climbing out, no reserved characters or device names', () => {
    expect(safeSegments('share/../../etc/passwd')).toEqual(['share', 'file', 'file', 'etc', 'passwd']);
    expect(saveName('a/b/notes <img src=x onerror=alert(1)>.txt')).toBe('notes _img src=x onerror=alert(1)_.txt');
    expect(saveName('x/what?:*"|.txt')).toBe('what_____.txt');
    expect(saveName('x/NUL')).toBe('_NUL');
    expect(saveName('')).toBe('file');
  });
});

describe('ICE server answers', () => {
  it('keeps well-formed entries and drops the rest', () => {
    expect(
      parseIceServers({
        iceServers: [
          { urls: 'stun:stun.example.org:3478' },
          { urls: ['turn:turn.example.org:3478?transport=udp'], username: 'u', credential: 'c' },
          { urls: 42 },
          'nonsense',
          null,
        ],
      }),
    ).toEqual([
      { urls: 'stun:stun.example.org:3478' },
      { urls: ['turn:turn.example.org:3478?transport=udp'], username: 'u', credential: 'c' },
    ]);
    expect(parseIceServers({ iceServers: [] })).toEqual([]);
    expect(parseIceServers({ servers: [] })).toBeNull();
    expect(parseIceServers('x')).toBeNull();
  });
});

describe('panels', () => {
  it('a connection is as indirect as its less direct side', () => {
    const c = (type: 'host' | 'srflx' | 'prflx' | 'relay') => ({
      type,
      address: '192.0.2.1',
      port: 1,
      protocol: 'udp',
    });
    expect(connectionLabel({ local: c('host'), remote: c('host') })).toBe('host');
    expect(connectionLabel({ local: c('host'), remote: c('srflx') })).toBe('srflx');
    expect(connectionLabel({ local: c('relay'), remote: c('srflx') })).toBe('relay');
  });

  it('ring positions run from 0 at ID 00… to just under one turn at ff…', () => {
    expect(turnOf('0'.repeat(40))).toBe(0);
    expect(turnOf(`8${'0'.repeat(39)}`)).toBe(0.5);
    expect(turnOf('f'.repeat(40))).toBeLessThan(1);
    expect(turnOf('f'.repeat(40))).toBeGreaterThan(0.9999);
  });

  it('a ring key is 40 hex digits, any case, trimmed; anything else says what is wrong with it', () => {
    expect(parseRingKey(` ${'AB'.repeat(20)}\n`)).toEqual({ key: 'ab'.repeat(20) });
    expect(parseRingKey('')).toMatchObject({ error: expect.stringMatching(/^Type a ring key: 40 hexadecimal digits/) });
    expect(parseRingKey(`${'0'.repeat(39)}g`)).toMatchObject({ error: expect.stringMatching(/other characters/) });
    expect(parseRingKey('abc123')).toMatchObject({
      error: expect.stringMatching(/40 hexadecimal digits long; this one has 6/),
    });
    expect(parseRingKey('0'.repeat(41))).toMatchObject({ error: expect.stringMatching(/this one has 41/) });
  });
});
