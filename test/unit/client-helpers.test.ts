/**
 * The helpers the page and the CLI share: the /api/ice answer and its refresh delay, plural
 * and describePair, loading a saved manifest, re-checking stored pieces.
 */
import {
  createManifest,
  describePair,
  encodeManifest,
  hashPieces,
  iceAnswerOf,
  infoHashOf,
  loadVerifiedManifest,
  MAX_MANIFEST_BYTES,
  MemoryPieceStore,
  MIN_ICE_REFRESH_MS,
  plural,
  refreshDelayMs,
  verifyStoredPieces,
} from '@ringswarm/shared';
import { iceAnswer } from '@ringswarm/signaling-server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha } from '../helpers/sha.js';

describe('the /api/ice answer', () => {
  it("takes the server's own answer as it is", () => {
    const answer = iceAnswer(
      { stunUrls: ['stun:s.example.org'], turnUrls: ['turn:t.example.org'], turnSecret: 'k', turnTtlS: 600 },
      'label',
      0,
    );
    expect(iceAnswerOf(JSON.parse(JSON.stringify(answer)))).toEqual(answer);
    expect(iceAnswerOf({ iceServers: [], ttl: 0 })).toEqual({ iceServers: [], ttl: 0 });
  });

  it('keeps the usable entries, drops the rest, and strips fields it does not know', () => {
    const stun = { urls: 'stun:stun.example.org:3478' };
    const turn = { urls: ['turns:t.example.org:5349?transport=tcp'], username: 'u', credential: 'c' };
    expect(
      iceAnswerOf({
        iceServers: [
          stun,
          { ...turn, note: 'ignored' },
          { urls: ['http://example.org'] },
          { urls: [] },
          { urls: ['stun:a', 42] },
          { urls: 'turn:t.example.org', username: 'u' },
          { urls: 'turn:t.example.org', credential: 'c' },
          { username: 'u', credential: 'c' },
          'stun:bare.example.org',
          null,
        ],
        ttl: 60,
      }),
    ).toEqual({ iceServers: [stun, turn], ttl: 60 });
  });

  it('refuses what is no answer, or has nothing usable in it', () => {
    for (const bad of [null, 'x', 42, [], {}, { servers: [] }, { iceServers: 'stun:x' }, { iceServers: [{}] }]) {
      expect(iceAnswerOf(bad)).toBeNull();
    }
  });

  it('reads a missing or nonsensical ttl as "nothing expires"', () => {
    for (const ttl of [undefined, 0, -5, Number.NaN, '600', null]) {
      expect(iceAnswerOf({ iceServers: [], ttl })?.ttl).toBe(0);
    }
  });

  it('never throws, and whatever it returns is usable', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.jsonValue()), (value, entries) => {
        for (const body of [value, { iceServers: entries }, { iceServers: entries, ttl: value }]) {
          const answer = iceAnswerOf(body);
          if (answer === null) continue;
          expect(answer.ttl).toBeGreaterThanOrEqual(0);
          for (const s of answer.iceServers) {
            const urls = typeof s.urls === 'string' ? [s.urls] : s.urls;
            expect(urls.length).toBeGreaterThan(0);
            for (const u of urls) expect(u).toMatch(/^(stuns?|turns?):\S+$/);
            expect(s.username === undefined).toBe(s.credential === undefined);
          }
        }
      }),
    );
  });

  it('is asked again at half the credentials lifetime, never sooner than 30 s', () => {
    expect(MIN_ICE_REFRESH_MS).toBe(30_000);
    expect(refreshDelayMs(60)).toBe(30_000);
    expect(refreshDelayMs(600)).toBe(300_000);
    expect(refreshDelayMs(86_400)).toBe(43_200_000);
    expect(refreshDelayMs(1)).toBe(30_000);
    expect(refreshDelayMs(0.001)).toBe(30_000);
  });
});

describe('words for people', () => {
  it('plural', () => {
    expect([plural(0, 'peer'), plural(1, 'peer'), plural(2, 'file')]).toEqual(['0 peers', '1 peer', '2 files']);
  });

  it('describePair: relayed when either end is a relay, IPv6 bracketed on both ends', () => {
    const host = { type: 'host', address: '192.0.2.1', port: 1, protocol: 'tcp' };
    expect(describePair({ local: host, remote: { ...host, type: 'relay', address: '2001:db8::2', port: 2 } })).toBe(
      'relayed through TURN: host 192.0.2.1:1 <-> relay [2001:db8::2]:2 (tcp)',
    );
    expect(describePair({ local: host, remote: host })).toBe('direct: host 192.0.2.1:1 <-> host 192.0.2.1:1 (tcp)');
  });
});

describe('resume data', () => {
  const data = new Uint8Array(40_000).map((_, i) => i % 251);
  const make = async () => {
    const pieceLength = 16 * 1024;
    const pieces = await hashPieces(data.length, pieceLength, async (o, n) => data.subarray(o, o + n));
    const manifest = createManifest({
      name: 'x.bin',
      files: [{ path: 'x.bin', length: data.length }],
      pieceLength,
      pieces,
    });
    return { manifest, infoHash: await infoHashOf(manifest) };
  };

  it('loadVerifiedManifest gives back a manifest that hashes to the infohash', async () => {
    const { manifest, infoHash } = await make();
    expect(await loadVerifiedManifest(encodeManifest(manifest), infoHash)).toEqual(manifest);
  });

  it('loadVerifiedManifest is null, never a throw, for damaged or foreign bytes', async () => {
    const { manifest, infoHash } = await make();
    const good = encodeManifest(manifest);
    const other = encodeManifest({ ...manifest, name: 'y.bin' });
    const enc = (s: string) => new TextEncoder().encode(s);
    for (const bytes of [
      new Uint8Array(0),
      good.subarray(0, good.length - 1),
      new Uint8Array([...good.subarray(0, 20), 0xff, 0xfe]),
      enc('null'),
      enc('{"version":1}'),
      enc(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(good)), pieces: ['zz'] })),
      new Uint8Array(MAX_MANIFEST_BYTES + 1),
      other,
    ]) {
      expect(await loadVerifiedManifest(bytes, infoHash)).toBeNull();
    }
  });

  it('verifyStoredPieces keeps the pieces whose hash matches, with the hash function it is given', async () => {
    const { manifest } = await make();
    const store = new MemoryPieceStore();
    await store.write(0, data.subarray(0, 16 * 1024));
    const wrong = data.slice(16 * 1024, 32 * 1024);
    wrong[7]! ^= 1;
    await store.write(1, wrong);
    // Piece 2 (the short last one) is missing.
    const hashed: number[] = [];
    const progress: [number, number][] = [];
    const have = await verifyStoredPieces(manifest, store, {
      hash: async (bytes) => {
        hashed.push(bytes.length);
        return sha(bytes);
      },
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect([have.has(0), have.has(1), have.has(2)]).toEqual([true, false, false]);
    expect(hashed).toEqual([16 * 1024, 16 * 1024]);
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    // A hash function that disagrees with the manifest finds nothing.
    const none = await verifyStoredPieces(manifest, store, { hash: async () => '00'.repeat(32) });
    expect(none.count).toBe(0);
  });
});
