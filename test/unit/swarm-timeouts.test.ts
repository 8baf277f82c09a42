/**
 * Peers that stop answering, on a FakeClock: manifest chunk and block requests time out, the
 * peer is snubbed (nothing more is asked of it until it answers), what it held goes to others,
 * and a suspect piece only it was allowed to re-fetch is freed.
 */
import { randomBytes } from 'node:crypto';
import {
  BLOCK_LENGTH,
  BLOCK_REQUEST_TIMEOUT_MS,
  ErrorCode,
  encodeManifest,
  METADATA_REQUEST_TIMEOUT_MS,
  MemoryPieceStore,
  PIPELINE_DEPTH,
  readAllPieces,
  Swarm,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { connect, newPeerId, type ScriptedPeer, scripted } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { until } from '../helpers/until.js';

/** Upper bound for a wait on WebCrypto's hashing (which no fake clock can hurry). */
const WAIT_MS = 5_000;

const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

function leecherOf(infoHash: string, clock: FakeClock, manifest?: Awaited<ReturnType<typeof seedable>>['manifest']) {
  const swarm = new Swarm(
    { peerId: newPeerId(), store: new MemoryPieceStore(), clock },
    manifest ? { infoHash, manifest } : { infoHash },
  );
  swarms.push(swarm);
  const warnings: [code: string, remoteId: string][] = [];
  swarm.on('warning', (err, remoteId) => warnings.push([err.code, remoteId]));
  return { swarm, warnings };
}

/** A scripted peer that proved the capability and has every piece (of `count`), and unchoked us. */
function fullPeer(swarm: Swarm, clock: FakeClock, infoHash: string, count: number): ScriptedPeer {
  const p = scripted(swarm, newPeerId(), clock);
  p.handshake(infoHash);
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (let i = 0; i < count; i++) bits[i >> 3]! |= 0x80 >> (i & 7);
  p.send({ type: 'bitfield', bits });
  p.send({ type: 'unchoke' });
  return p;
}

const peerOf = (swarm: Swarm, id: string) => swarm.peerStats().find((p) => p.remoteId === id);

describe('a peer that stops answering manifest requests', () => {
  it('is snubbed after METADATA_REQUEST_TIMEOUT_MS, and the next peer serves the manifest', async () => {
    const data = new Uint8Array(randomBytes(4 * BLOCK_LENGTH));
    const seed = await seedable('data.bin', data, BLOCK_LENGTH);
    const clock = new FakeClock();
    const leecher = leecherOf(seed.infoHash, clock);
    // The silent peer comes first, so it is the one asked.
    const silent = scripted(leecher.swarm, newPeerId(), clock);
    silent.handshake(seed.infoHash);
    await flush(clock);
    expect(silent.received('metadata-request')).toEqual([{ type: 'metadata-request', chunk: 0 }]);

    const seeder = new Swarm(
      { peerId: newPeerId(), store: seed.store, clock },
      { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
    );
    swarms.push(seeder);
    connect(leecher.swarm, seeder, undefined, clock);
    await flush(clock);
    // One fetch at a time: the seeder is not asked while the silent peer's deadline runs.
    clock.advance(METADATA_REQUEST_TIMEOUT_MS - 1);
    await flush(clock);
    expect(leecher.swarm.manifest).toBeNull();
    expect(leecher.swarm.stats().snubbed).toBe(0);

    clock.advance(1);
    await flush(clock);
    expect(leecher.swarm.stats().snubbed).toBe(1);
    expect(peerOf(leecher.swarm, silent.id)?.snubbed).toBe(true);
    expect(leecher.warnings).toEqual([[ErrorCode.PEER_TIMEOUT, silent.id]]);
    await until(
      async () => {
        await flush(clock);
        return leecher.swarm.done;
      },
      WAIT_MS,
      'the download from the seeder',
    );
    expect(sha(Buffer.concat(await readAllPieces(leecher.swarm.manifest!, leecher.swarm.store)))).toBe(sha(data));
    // Asked once, never again; it is still connected (snubbed, not closed).
    expect(silent.received('metadata-request')).toHaveLength(1);
    expect(silent.received('request')).toEqual([]);
    expect(leecher.swarm.peerIds).toContain(silent.id);
  });

  it('a late answer to the first chunk is still taken when no other peer answers', async () => {
    const data = new Uint8Array(randomBytes(2 * BLOCK_LENGTH));
    const seed = await seedable('data.bin', data, BLOCK_LENGTH);
    const clock = new FakeClock();
    const leecher = leecherOf(seed.infoHash, clock);
    const slow = scripted(leecher.swarm, newPeerId(), clock);
    slow.handshake(seed.infoHash);
    await flush(clock);
    clock.advance(METADATA_REQUEST_TIMEOUT_MS);
    await flush(clock);
    expect(leecher.swarm.stats().snubbed).toBe(1);

    const encoded = encodeManifest(seed.manifest);
    slow.send({ type: 'metadata-data', chunk: 0, total: encoded.length, data: encoded });
    await until(
      async () => {
        await flush(clock);
        return leecher.swarm.manifest !== null;
      },
      WAIT_MS,
      'the manifest from the late answer',
    );
    expect(peerOf(leecher.swarm, slow.id)?.snubbed).toBe(false);
  });
});

describe('a peer that stops answering block requests', () => {
  it('is snubbed after BLOCK_REQUEST_TIMEOUT_MS without a block; its blocks go to another peer, a late one is taken', async () => {
    const pieces = 40;
    const data = new Uint8Array(randomBytes(pieces * BLOCK_LENGTH));
    const seed = await seedable('data.bin', data, BLOCK_LENGTH);
    const clock = new FakeClock();
    const leecher = leecherOf(seed.infoHash, clock, seed.manifest);
    const silent = fullPeer(leecher.swarm, clock, seed.infoHash, pieces);
    await flush(clock);
    const asked = silent.received('request');
    expect(asked).toHaveLength(PIPELINE_DEPTH);

    // Progress restarts the deadline: one block at 9 s keeps the peer in.
    clock.advance(BLOCK_REQUEST_TIMEOUT_MS - 1_000);
    const first = asked[0]!;
    silent.send({
      type: 'piece',
      index: first.index,
      begin: first.begin,
      data: data.subarray(first.index * BLOCK_LENGTH, first.index * BLOCK_LENGTH + BLOCK_LENGTH),
    });
    await flush(clock);
    clock.advance(BLOCK_REQUEST_TIMEOUT_MS - 1);
    await flush(clock);
    expect(leecher.swarm.stats().snubbed).toBe(0);
    expect(peerOf(leecher.swarm, silent.id)?.inflight).toBe(PIPELINE_DEPTH);

    clock.advance(1);
    await flush(clock);
    expect(leecher.swarm.stats().snubbed).toBe(1);
    expect(peerOf(leecher.swarm, silent.id)).toMatchObject({ snubbed: true, inflight: 0 });
    expect(leecher.warnings).toEqual([[ErrorCode.PEER_TIMEOUT, silent.id]]);
    const askedBefore = silent.received('request').length;

    // Another peer comes: it is asked for what the silent peer held.
    const other = fullPeer(leecher.swarm, clock, seed.infoHash, pieces);
    await flush(clock);
    const key = (r: { index: number; begin: number }) => `${r.index}:${r.begin}`;
    const held = new Set(silent.received('request').slice(1).map(key));
    expect(other.received('request').filter((r) => held.has(key(r))).length).toBeGreaterThan(0);
    // Nothing new was asked of the snubbed peer.
    expect(silent.received('request')).toHaveLength(askedBefore);

    // The silent peer answers one of the requests that timed out: the snub is lifted.
    const late = silent.received('request')[1]!;
    silent.send({
      type: 'piece',
      index: late.index,
      begin: late.begin,
      data: data.subarray(late.index * BLOCK_LENGTH, late.index * BLOCK_LENGTH + BLOCK_LENGTH),
    });
    await flush(clock);
    expect(peerOf(leecher.swarm, silent.id)?.snubbed).toBe(false);
    expect(silent.received('request').length).toBeGreaterThan(askedBefore);
    // It was snubbed once: one warning, one count.
    expect(leecher.warnings).toHaveLength(1);
    expect(leecher.swarm.stats().snubbed).toBe(1);
    // Timers run (its new requests' deadline, the choke rounds); destroying the swarm clears them all.
    expect(clock.pending).toBeGreaterThan(0);
    leecher.swarm.destroy();
    await flush(clock);
    expect(clock.pending).toBe(0);
  });

  it('frees a suspect piece whose re-fetch was pinned to a peer that went silent', async () => {
    // One piece of two blocks: the silent peer sends a bad block 1, an honest peer a good block 0.
    const data = new Uint8Array(randomBytes(2 * BLOCK_LENGTH));
    const seed = await seedable('data.bin', data, 2 * BLOCK_LENGTH);
    const clock = new FakeClock();
    const leecher = leecherOf(seed.infoHash, clock, seed.manifest);
    const liar = fullPeer(leecher.swarm, clock, seed.infoHash, 1);
    await flush(clock);
    const honest = fullPeer(leecher.swarm, clock, seed.infoHash, 1);
    await flush(clock);
    expect(liar.received('request').map((r) => r.begin)).toEqual([0, BLOCK_LENGTH]);
    // Endgame: the honest peer is asked for the same blocks.
    expect(honest.received('request').map((r) => r.begin)).toEqual([0, BLOCK_LENGTH]);
    const bad = data.slice(BLOCK_LENGTH);
    bad[0]! ^= 0xff;
    liar.send({ type: 'piece', index: 0, begin: BLOCK_LENGTH, data: bad });
    honest.send({ type: 'piece', index: 0, begin: 0, data: data.subarray(0, BLOCK_LENGTH) });
    // The piece fails with blocks from two peers: a suspect, re-fetched from one peer only. The
    // liar comes first, so the re-fetch is pinned to it, and it goes silent.
    await until(
      async () => {
        await flush(clock);
        return liar.received('request').length === 4;
      },
      WAIT_MS,
      'the re-fetch to be asked of the liar',
    );
    expect(leecher.warnings.map(([code]) => code)).toEqual([ErrorCode.BAD_PIECE]);
    const honestAsked = honest.received('request').length;
    clock.advance(BLOCK_REQUEST_TIMEOUT_MS);
    await flush(clock);
    expect(leecher.swarm.stats().snubbed).toBe(1);
    // The piece is freed: the honest peer fills it, it verifies, and the liar's earlier block
    // gets it banned.
    expect(honest.received('request').length).toBeGreaterThan(honestAsked);
    for (const r of honest.received('request').slice(honestAsked)) {
      honest.send({ type: 'piece', index: r.index, begin: r.begin, data: data.subarray(r.begin, r.begin + r.length) });
    }
    await until(
      async () => {
        await flush(clock);
        return leecher.swarm.done;
      },
      WAIT_MS,
      'the piece from the honest peer',
    );
    expect(sha(Buffer.concat(await readAllPieces(seed.manifest, leecher.swarm.store)))).toBe(sha(data));
    expect(leecher.warnings).toContainEqual([ErrorCode.BAD_PIECE, liar.id]);
    expect(leecher.swarm.peerIds).not.toContain(liar.id);
  });
});
