/**
 * A flash crowd on a FakeClock: real swarms, one seeder whose upload is capped and leechers that
 * all start at once, each connected to every other over links that cost no time. The seeder's
 * upload is what the crowd waits on, so every piece it sends twice delays the last leecher; it
 * should send the file about once, and the leechers pass it on among themselves.
 */
import { randomBytes } from 'node:crypto';
import { BLOCK_LENGTH, MemoryPieceStore, readAllPieces, Swarm } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { connect, newPeerId } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';

const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

/** The seeder's bytes sent over the file's size once every leecher holds it all, and the virtual seconds it took. */
async function crowd(leechers: number): Promise<{ copies: number; seconds: number; whole: boolean }> {
  const pieceLength = 2 * BLOCK_LENGTH;
  const data = new Uint8Array(randomBytes(96 * pieceLength));
  const seed = await seedable('crowd.bin', data, pieceLength);
  const clock = new FakeClock();
  const seeder = new Swarm(
    { peerId: newPeerId(), store: seed.store, clock },
    { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
  );
  swarms.push(seeder);
  const rate = 256 * 1024;
  seeder.setRateLimits({ upload: rate });
  const crowd = Array.from({ length: leechers }, () => {
    const swarm = new Swarm(
      { peerId: newPeerId(), store: new MemoryPieceStore(), clock },
      { infoHash: seed.infoHash, manifest: seed.manifest },
    );
    swarms.push(swarm);
    return swarm;
  });
  crowd.forEach((leecher, i) => {
    connect(leecher, seeder, undefined, clock);
    for (const other of crowd.slice(0, i)) connect(leecher, other, undefined, clock);
  });
  const started = clock.now();
  const limitMs = ((20 * data.length) / rate) * 1000;
  while (!crowd.every((l) => l.done) && clock.now() - started < limitMs) {
    clock.advance(10);
    await flush(clock);
    // Hash checks and proofs run on WebCrypto, off the fake clock: they finish (well under a
    // millisecond each here) before virtual time goes on, as they would against real time.
    // Without this the clock ran ahead of them in about a third of runs, and pieces already
    // received stayed unverified for virtual seconds.
    await new Promise((resolve) => setTimeout(resolve, 1));
    await flush(clock);
  }
  const digest = sha(data);
  const held = await Promise.all(
    crowd.map(async (l) => sha(Buffer.concat(await readAllPieces(seed.manifest, l.store)))),
  );
  return {
    copies: seeder.stats().uploaded / data.length,
    seconds: (clock.now() - started) / 1000,
    whole: crowd.every((l) => l.done) && held.every((h) => h === digest),
  };
}

describe('a flash crowd', () => {
  it('has a capped seeder send the file about once to six leechers that start together', async () => {
    const { copies, seconds, whole } = await crowd(6);
    expect(whole).toBe(true);
    expect(copies).toBeGreaterThanOrEqual(1);
    expect(copies).toBeLessThanOrEqual(1.02);
    // One copy takes 12 s at the cap; the leechers pass pieces on at once.
    expect(seconds).toBeLessThan(13);
  });
});
