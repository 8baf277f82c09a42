/** Swarm.setWanted: fetching only the pieces of the files a person picked. */
import { randomBytes } from 'node:crypto';
import { Bitfield, decodeMessage, MemoryPieceStore, Swarm } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, newPeerId } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';
import { nextMacrotask, until } from '../helpers/until.js';

const WAIT_MS = 5_000;
const PIECE = 16 * 1024;

const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

describe('Swarm.setWanted', () => {
  it('requests only wanted pieces, stops wanting once they are held, and fetches the rest when widened', async () => {
    const data = new Uint8Array(randomBytes(8 * PIECE));
    const seed = await seedable('data.bin', data, PIECE);
    const seeder = new Swarm(
      { peerId: newPeerId(), store: seed.store },
      { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
    );
    const store = new MemoryPieceStore();
    const leecher = new Swarm({ peerId: newPeerId(), store }, { infoHash: seed.infoHash, manifest: seed.manifest });
    swarms.push(seeder, leecher);
    const wanted = new Bitfield(8);
    for (const i of [2, 3, 6]) wanted.set(i);
    leecher.setWanted(wanted);
    expect(leecher.wantedDone).toBe(false);

    // Every frame the leecher sends, decoded.
    const sent: ReturnType<typeof decodeMessage>[] = [];
    connect(leecher, seeder, (frame) => {
      sent.push(decodeMessage(frame));
      return frame;
    });
    const held: number[] = [];
    // When the last wanted piece is announced, wantedDone already says so.
    const wantedDoneAt: number[] = [];
    leecher.on('piece', (index) => {
      held.push(index);
      if (leecher.wantedDone) wantedDoneAt.push(index);
    });
    await until(() => leecher.wantedDone, WAIT_MS, 'the wanted pieces');
    for (let i = 0; i < 5; i++) await nextMacrotask();

    const requested = new Set(sent.flatMap((m) => (m.type === 'request' ? [m.index] : [])));
    expect([...requested].sort()).toEqual([2, 3, 6]);
    expect(wantedDoneAt).toEqual([held.at(-1)]);
    expect(held.sort()).toEqual([2, 3, 6]);
    expect(leecher.done).toBe(false);
    expect(leecher.stats()).toMatchObject({ piecesHave: 3, done: false });
    // Nothing else to want from the seeder: the leecher says so.
    expect(sent.filter((m) => m.type === 'interested' || m.type === 'not-interested').map((m) => m.type)).toEqual([
      'interested',
      'not-interested',
    ]);

    leecher.setWanted(null);
    await until(() => leecher.done, WAIT_MS, 'the whole file');
    expect(held.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refuses a bitfield of the wrong length, or before the manifest is known', async () => {
    const seed = await seedable('data.bin', new Uint8Array(randomBytes(4 * PIECE)), PIECE);
    const withManifest = new Swarm(
      { peerId: newPeerId(), store: new MemoryPieceStore() },
      { infoHash: seed.infoHash, manifest: seed.manifest },
    );
    const withoutManifest = new Swarm(
      { peerId: newPeerId(), store: new MemoryPieceStore() },
      { infoHash: seed.infoHash },
    );
    swarms.push(withManifest, withoutManifest);
    expect(() => withManifest.setWanted(new Bitfield(3))).toThrow(RangeError);
    expect(() => withoutManifest.setWanted(new Bitfield(4))).toThrow(RangeError);
    expect(withoutManifest.wantedDone).toBe(false);
  });
});
