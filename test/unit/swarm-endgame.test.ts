import { randomBytes } from 'node:crypto';
import { BLOCK_LENGTH, MAX_PIPELINE, MemoryPieceStore, PIPELINE_DEPTH, Swarm } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { newPeerId, scripted } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';
import { waitFor } from '../helpers/until.js';

/** Only for the hash checks (WebCrypto); frames move on the FakeClock (see `flush`). */
const WAIT_MS = 5_000;
const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

/** One piece of two blocks. */
async function twoBlockFile() {
  const data = new Uint8Array(randomBytes(2 * BLOCK_LENGTH));
  return { data, ...(await seedable('f.bin', data, 2 * BLOCK_LENGTH)) };
}

describe('Swarm endgame', () => {
  it('asks an idle peer for blocks already requested elsewhere, and cancels the loser', async () => {
    const { data, manifest, infoHash } = await twoBlockFile();
    const clock = new FakeClock();
    const leecher = new Swarm({ peerId: 'f'.repeat(40), store: new MemoryPieceStore(), clock }, { infoHash, manifest });
    swarms.push(leecher);

    const slow = scripted(leecher, newPeerId(), clock);
    slow.handshake(infoHash);
    slow.send({ type: 'bitfield', bits: new Uint8Array([0x80]) });
    slow.send({ type: 'unchoke' });
    await flush(clock);
    expect(slow.received('interested')).toHaveLength(1);
    expect(slow.received('request')).toHaveLength(2);
    expect(leecher.stats().endgame).toBe(false);

    // A second peer arrives while every block is in flight: endgame duplicates them.
    const fast = scripted(leecher, newPeerId(), clock);
    fast.handshake(infoHash);
    fast.send({ type: 'bitfield', bits: new Uint8Array([0x80]) });
    fast.send({ type: 'unchoke' });
    await flush(clock);
    expect(fast.received('request')).toHaveLength(2);
    expect(leecher.stats().endgame).toBe(true);
    expect(fast.received('request').map((r) => r.begin)).toEqual([0, BLOCK_LENGTH]);

    clock.advance(40);
    fast.send({ type: 'piece', index: 0, begin: 0, data: data.slice(0, BLOCK_LENGTH) });
    await flush(clock);
    expect(slow.received('cancel')).toHaveLength(1);
    expect(slow.received('cancel')[0]).toEqual({ type: 'cancel', index: 0, begin: 0, length: BLOCK_LENGTH });

    // The slow peer's late copy of the same block is dropped, not counted twice.
    const done = waitFor(leecher, 'done', WAIT_MS);
    slow.send({ type: 'piece', index: 0, begin: 0, data: data.slice(0, BLOCK_LENGTH) });
    fast.send({ type: 'piece', index: 0, begin: BLOCK_LENGTH, data: data.slice(BLOCK_LENGTH) });
    await flush(clock);
    await done;
    expect(leecher.done).toBe(true);
    const stats = leecher.stats();
    expect(stats.downloaded).toBe(data.length);
    expect(stats.eta).toBe(0);
    expect(stats.seeders).toBe(2);
    const perPeer = Object.fromEntries(leecher.peerStats().map((p) => [p.remoteId, p.downloaded]));
    expect(perPeer[fast.id]).toBe(data.length);
    expect(perPeer[slow.id]).toBe(0);
  });
});

describe('Swarm request window', () => {
  it('keeps more requests outstanding with a peer whose bandwidth-delay product is large', async () => {
    const data = new Uint8Array(randomBytes(8 * 1024 * 1024));
    const { manifest, infoHash } = await seedable('long-path.bin', data, BLOCK_LENGTH);
    const clock = new FakeClock();
    const leecher = new Swarm({ peerId: 'e'.repeat(40), store: new MemoryPieceStore(), clock }, { infoHash, manifest });
    swarms.push(leecher);
    const far = scripted(leecher, newPeerId(), clock);
    far.handshake(infoHash);
    far.send({ type: 'bitfield', bits: new Uint8Array(Math.ceil(manifest.pieces.length / 8)).fill(0xff) });
    far.send({ type: 'unchoke' });
    await flush(clock);
    expect(far.received('request')).toHaveLength(PIPELINE_DEPTH);

    // Every round trip takes 500 ms, and the peer answers everything asked so far at once.
    let answered = 0;
    const outstanding: number[] = [];
    for (let round = 0; round < 14 && !leecher.done; round++) {
      clock.advance(500);
      const requests = far.received('request').slice(answered);
      answered += requests.length;
      outstanding.push(requests.length);
      for (const r of requests) {
        far.send({
          type: 'piece',
          index: r.index,
          begin: r.begin,
          data: data.subarray(r.index * BLOCK_LENGTH + r.begin, r.index * BLOCK_LENGTH + r.begin + r.length),
        });
      }
      await flush(clock);
      // No new requests: every block was asked for and answered, only the hash checks are left.
      if (far.received('request').length === answered && !leecher.done) await waitFor(leecher, 'done', WAIT_MS);
    }
    // 32 blocks per 500 ms is ~1 MiB/s; times a 500 ms round trip, twice, is a window of 64.
    expect(outstanding[0]).toBe(PIPELINE_DEPTH);
    expect(Math.max(...outstanding)).toBeGreaterThan(PIPELINE_DEPTH);
    expect(Math.max(...outstanding)).toBeLessThanOrEqual(MAX_PIPELINE);
  });
});
