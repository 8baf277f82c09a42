import { randomBytes } from 'node:crypto';
import {
  Bitfield,
  BLOCK_LENGTH,
  concatBytes,
  createManifest,
  decodeMessage,
  discoveryKeyOf,
  encodeManifest,
  encodeMessage,
  hashPieces,
  infoHashOf,
  METADATA_CHUNK_LENGTH,
  MemoryPieceStore,
  MessageType,
  PIPELINE_DEPTH,
  ReaderPieceStore,
  readAllPieces,
  Swarm,
  WIRE_VERSION,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { connect, linkPair, newNonce, newPeerId, type ScriptedPeer, scripted } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { nextMacrotask, until, waitFor } from '../helpers/until.js';

/**
 * Upper bound for any one wait; the in-memory transfers here finish far sooner. Waits that
 * involve only frames and store reads run on a FakeClock instead (see `flush`); the ones
 * left wait for WebCrypto's hashing, which no fake clock can hurry.
 */
const WAIT_MS = 5_000;

/** A memory store that remembers every write, and whether it came after destroy(). */
class RecordingStore extends MemoryPieceStore {
  readonly writes: { index: number; data: Uint8Array; afterDestroy: boolean }[] = [];
  destroyed = false;

  override write(index: number, data: Uint8Array): Promise<void> {
    this.writes.push({ index, data: data.slice(), afterDestroy: this.destroyed });
    return super.write(index, data);
  }

  override destroy(): void {
    this.destroyed = true;
    super.destroy();
  }
}

const random = (length: number) => new Uint8Array(randomBytes(length));

const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

async function newSeeder(data: Uint8Array, options: { infoHash?: string; clock?: FakeClock } = {}) {
  const seed = await seedable('data.bin', data);
  const swarm = new Swarm(
    { peerId: newPeerId(), store: seed.store, ...(options.clock ? { clock: options.clock } : {}) },
    { infoHash: options.infoHash ?? seed.infoHash, manifest: seed.manifest, have: seed.have },
  );
  swarms.push(swarm);
  return { swarm, ...seed };
}

function newLeecher(infoHash: string, clock?: FakeClock) {
  const store = new RecordingStore();
  const swarm = new Swarm({ peerId: newPeerId(), store, ...(clock ? { clock } : {}) }, { infoHash });
  swarms.push(swarm);
  return { swarm, store };
}

/** Records a swarm's events in order. */
function record(swarm: Swarm) {
  const log: string[] = [];
  const closed: [remoteId: string, code: string | undefined][] = [];
  const warnings: [code: string, remoteId: string][] = [];
  const pieces: number[] = [];
  swarm.on('metadata', () => log.push('metadata'));
  swarm.on('piece', (index) => {
    log.push('piece');
    pieces.push(index);
  });
  swarm.on('done', () => log.push('done'));
  swarm.on('peer', () => log.push('peer'));
  swarm.on('peer-closed', (remoteId, code) => {
    log.push('peer-closed');
    closed.push([remoteId, code]);
  });
  swarm.on('warning', (err, remoteId) => {
    log.push('warning');
    warnings.push([err.code, remoteId]);
  });
  swarm.on('close', () => log.push('close'));
  return { log, closed, warnings, pieces };
}

async function downloaded(swarm: Swarm): Promise<Uint8Array> {
  return concatBytes(await readAllPieces(swarm.manifest!, swarm.store));
}

/** The bytes of piece `index` of `data` cut in pieces of `pieceLength`. */
const pieceOf = (data: Uint8Array, pieceLength: number, index: number) =>
  data.subarray(index * pieceLength, (index + 1) * pieceLength);

describe('Swarm transfer', () => {
  it('a leecher that knows only the infohash gets the manifest, then every piece, from a seeder', async () => {
    const data = random(300 * 1024 + 1000); // 19 pieces of 16 KiB, the last one short
    const seeder = await newSeeder(data);
    const leecher = newLeecher(seeder.infoHash);
    const events = record(leecher.swarm);
    const done = waitFor(leecher.swarm, 'done', WAIT_MS);

    connect(leecher.swarm, seeder.swarm);
    await done;

    expect(events.log.filter((e) => e === 'metadata' || e === 'done')).toEqual(['metadata', 'done']);
    expect(leecher.swarm.manifest).toEqual(seeder.manifest);
    expect(events.pieces.toSorted((a, b) => a - b)).toEqual(seeder.manifest.pieces.map((_, i) => i));
    expect(sha(await downloaded(leecher.swarm))).toBe(sha(data));
    expect(leecher.swarm.left).toBe(0);
    expect(leecher.swarm.stats()).toMatchObject({ done: true, have: data.length, downloaded: data.length });
    expect(seeder.swarm.stats().uploaded).toBeGreaterThanOrEqual(data.length);
  });

  it('requests a piece once, not again while its hash is being checked', async () => {
    const data = random(BLOCK_LENGTH); // one piece of one block
    const { manifest, infoHash } = await seedable('data.bin', data);
    const clock = new FakeClock();
    const leecher = new Swarm({ peerId: newPeerId(), store: new MemoryPieceStore(), clock }, { infoHash, manifest });
    swarms.push(leecher);
    const done = waitFor(leecher, 'done', WAIT_MS);
    const seeder = scripted(leecher, newPeerId(), clock);

    seeder.handshake(infoHash);
    seeder.send({ type: 'bitfield', bits: new Uint8Array([0x80]) });
    seeder.send({ type: 'unchoke' });
    await flush(clock);
    expect(seeder.received('request').length).toBeGreaterThan(0);
    seeder.send({ type: 'piece', index: 0, begin: 0, data });
    await flush(clock);
    await done;
    // Frames the leecher sent before it finished are delivered by now.
    await flush(clock);

    expect(seeder.received('request')).toEqual([{ type: 'request', index: 0, begin: 0, length: BLOCK_LENGTH }]);
  });

  it('spreads requests over several seeders', async () => {
    // More blocks than two request pipelines hold, so no single seeder is asked for everything.
    const data = random((2 * PIPELINE_DEPTH + 3) * BLOCK_LENGTH + 999);
    const seeders = [await newSeeder(data), await newSeeder(data), await newSeeder(data)];
    const leecher = newLeecher(seeders[0]!.infoHash);
    const done = waitFor(leecher.swarm, 'done', WAIT_MS);

    for (const s of seeders) connect(leecher.swarm, s.swarm);
    await done;

    expect(sha(await downloaded(leecher.swarm))).toBe(sha(data));
    const uploads = seeders.map((s) => s.swarm.stats().uploaded);
    expect(uploads.filter((u) => u > 0).length).toBeGreaterThanOrEqual(2);
  });

  it('fetches a manifest that spans several metadata chunks', async () => {
    const files = Array.from({ length: 300 }, (_, i) => ({
      path: `folder/${'long-name-'.repeat(10)}${i}.txt`,
      length: 100,
    }));
    const data = random(300 * 100);
    const read = async (offset: number, length: number) => data.subarray(offset, offset + length);
    const pieceLength = 16 * 1024;
    const manifest = createManifest({
      name: 'folder',
      files,
      pieceLength,
      pieces: await hashPieces(data.length, pieceLength, read),
    });
    expect(encodeManifest(manifest).length).toBeGreaterThan(2 * METADATA_CHUNK_LENGTH);
    const infoHash = await infoHashOf(manifest);
    const seeder = new Swarm(
      { peerId: newPeerId(), store: new ReaderPieceStore(manifest, read) },
      { infoHash, manifest, have: Bitfield.full(manifest.pieces.length) },
    );
    swarms.push(seeder);
    const leecher = newLeecher(infoHash);
    const done = waitFor(leecher.swarm, 'done', WAIT_MS);

    connect(leecher.swarm, seeder);
    await done;

    expect(leecher.swarm.manifest).toEqual(manifest);
    expect(sha(await downloaded(leecher.swarm))).toBe(sha(data));
  });
});

describe('Swarm against misbehaving peers', () => {
  it('bans a seeder that corrupts a piece, never stores it, and finishes from an honest seeder', async () => {
    const data = random(300 * 1024 + 1000);
    const liar = await newSeeder(data);
    const honest = await newSeeder(data);
    const leecher = newLeecher(honest.infoHash);
    const events = record(leecher.swarm);
    const done = waitFor(leecher.swarm, 'done', WAIT_MS);
    const flipLastByte = (frame: Uint8Array) => {
      if (frame[0] !== MessageType.PIECE) return frame;
      const bad = frame.slice();
      bad[bad.length - 1]! ^= 0xff;
      return bad;
    };

    // The liar connects first, so the leecher's first requests go to it.
    const [, atLeecher] = connect(liar.swarm, leecher.swarm, flipLastByte);
    connect(leecher.swarm, honest.swarm);
    await done;

    expect(events.closed).toContainEqual([liar.swarm.peerId, 'ERR_BAD_PIECE']);
    expect(atLeecher.closeCode).toBe('ERR_BAD_PIECE');
    expect(events.warnings.every(([code, id]) => code === 'ERR_BAD_PIECE' && id === liar.swarm.peerId)).toBe(true);
    expect(sha(await downloaded(leecher.swarm))).toBe(sha(data));
    expect(new Set(leecher.store.writes.map((w) => w.index)).size).toBe(honest.manifest.pieces.length);
    for (const { index, data: written } of leecher.store.writes) {
      expect(sha(written)).toBe(sha(pieceOf(data, honest.manifest.pieceLength, index)));
    }

    // A banned peer stays banned.
    const [again] = connect(leecher.swarm, liar.swarm);
    expect(again.closeCode).toBe('ERR_BAD_PIECE');
  });

  it('closes the peer that sent a bad block even when another peer completed the piece', async () => {
    // One piece of two blocks, so that two peers can each send half of it.
    const data = random(2 * BLOCK_LENGTH);
    const { manifest, infoHash } = await seedable('two-blocks.bin', data, 2 * BLOCK_LENGTH);
    const leecher = new Swarm({ peerId: newPeerId(), store: new MemoryPieceStore() }, { infoHash, manifest });
    swarms.push(leecher);
    const events = record(leecher);
    const liar = scripted(leecher);
    const honest = scripted(leecher);

    liar.handshake(infoHash);
    liar.send({ type: 'bitfield', bits: new Uint8Array([0x80]) });
    liar.send({ type: 'unchoke' });
    await until(() => liar.received('request').length === 2, WAIT_MS, 'both blocks requested from the liar');
    const corrupt = data.slice(0, BLOCK_LENGTH);
    corrupt[0]! ^= 0xff;
    liar.send({ type: 'piece', index: 0, begin: 0, data: corrupt });
    // Choking hands the second block back, to be asked of the honest peer.
    liar.send({ type: 'choke' });

    honest.handshake(infoHash);
    honest.send({ type: 'bitfield', bits: new Uint8Array([0x80]) });
    honest.send({ type: 'unchoke' });
    await until(
      () => honest.received('request').length === 1,
      WAIT_MS,
      'the second block requested from the honest peer',
    );
    expect(honest.received('request')[0]).toMatchObject({ index: 0, begin: BLOCK_LENGTH });
    // From now on the honest peer answers whatever it is asked, with the right bytes.
    honest.link.on('frame', (frame) => {
      const msg = decodeMessage(frame);
      if (msg.type !== 'request') return;
      honest.send({ type: 'piece', index: 0, begin: msg.begin, data: data.slice(msg.begin, msg.begin + msg.length) });
    });
    honest.send({ type: 'piece', index: 0, begin: BLOCK_LENGTH, data: data.slice(BLOCK_LENGTH) });

    // The mixed piece fails; it is fetched again from one peer, and once it verifies the
    // block the liar sent is found to differ: the liar is banned, the honest peer is not.
    await until(() => events.closed.length > 0, WAIT_MS, 'a peer to be closed');
    expect(events.closed).toEqual([[liar.id, 'ERR_BAD_PIECE']]);
    expect(leecher.done).toBe(true);
    expect(leecher.peerIds).toEqual([honest.id]);
  });

  it('closes a peer whose manifest does not hash to the infohash, then gets it from another', async () => {
    const data = random(100_000);
    const honest = await newSeeder(data);
    // Speaks for the right swarm in its handshake but serves another file's manifest.
    const impostor = await newSeeder(random(100_000), { infoHash: honest.infoHash });
    const leecher = newLeecher(honest.infoHash);
    const events = record(leecher.swarm);
    const done = waitFor(leecher.swarm, 'done', WAIT_MS);

    const [atLeecher] = connect(leecher.swarm, impostor.swarm);
    connect(leecher.swarm, honest.swarm);
    await done;

    expect(events.closed).toContainEqual([impostor.swarm.peerId, 'ERR_BAD_METADATA']);
    expect(atLeecher.closeCode).toBe('ERR_BAD_METADATA');
    expect(leecher.swarm.manifest).toEqual(honest.manifest);
    expect(sha(await downloaded(leecher.swarm))).toBe(sha(data));
  });

  it('asks another peer for the manifest after one says it has none', async () => {
    const seeder = await newSeeder(random(40_000));
    const leecher = newLeecher(seeder.infoHash);
    const metadata = waitFor(leecher.swarm, 'metadata', WAIT_MS);

    // A peer that joined the swarm before it had the manifest: all it can do is refuse.
    const empty = scripted(leecher.swarm);
    empty.link.on('frame', (frame) => {
      const msg = decodeMessage(frame);
      if (msg.type === 'metadata-request') empty.send({ type: 'metadata-reject', chunk: msg.chunk });
    });
    empty.handshake(seeder.infoHash);
    connect(leecher.swarm, seeder.swarm);

    await metadata;
    expect(leecher.swarm.manifest).toEqual(seeder.manifest);
  });

  describe('closes with ERR_BAD_FRAME only the link that sent a bad frame, and keeps serving', () => {
    const data = random(2 * BLOCK_LENGTH + 5000); // 3 pieces, the last one short
    const lastPiece = 2;

    const noPieces = encodeMessage({ type: 'bitfield', bits: new Uint8Array(1) });

    it.each<[string, (infoHash: string) => Uint8Array[]]>([
      ['a truncated request', () => [new Uint8Array([MessageType.REQUEST, 1, 2])]],
      ['an unknown frame type', () => [new Uint8Array([0x05, 0, 0, 0, 0])]],
      ['a request past the last piece', () => [encodeMessage({ type: 'request', index: 3, begin: 0, length: 1 })]],
      [
        'a request past the end of the short last piece',
        () => [encodeMessage({ type: 'request', index: lastPiece, begin: 4096, length: 1024 })],
      ],
      ['a have past the last piece', () => [noPieces, encodeMessage({ type: 'have', index: 3 })]],
      ['a bitfield of the wrong size', () => [encodeMessage({ type: 'bitfield', bits: new Uint8Array(2) })]],
      ['a bitfield with spare bits set', () => [encodeMessage({ type: 'bitfield', bits: new Uint8Array([0x01]) })]],
      [
        'a second handshake',
        (infoHash) => [
          encodeMessage({
            type: 'handshake',
            version: WIRE_VERSION,
            discoveryKey: discoveryKeyOf(infoHash),
            peerId: newPeerId(),
            nonce: newNonce(),
          }),
        ],
      ],
    ])('%s', async (_what, badFrames) => {
      const clock = new FakeClock();
      const seeder = await newSeeder(data, { clock });
      const events = record(seeder.swarm);
      const bad = scripted(seeder.swarm, newPeerId(), clock);
      bad.handshake(seeder.infoHash);
      for (const frame of badFrames(seeder.infoHash)) bad.sendFrame(frame);
      await flush(clock);
      expect(bad.atSwarm.closed).toBe(true);

      expect(bad.atSwarm.closeCode).toBe('ERR_BAD_FRAME');
      expect(events.closed).toEqual([[bad.id, 'ERR_BAD_FRAME']]);
      expect(events.warnings).toEqual([['ERR_BAD_FRAME', bad.id]]);

      const leecher = newLeecher(seeder.infoHash);
      const done = waitFor(leecher.swarm, 'done', WAIT_MS);
      connect(leecher.swarm, seeder.swarm);
      await done;
      expect(sha(await downloaded(leecher.swarm))).toBe(sha(data));
    });

    it('a frame before the handshake (closed at the capability check)', async () => {
      const clock = new FakeClock();
      const seeder = await newSeeder(data, { clock });
      const events = record(seeder.swarm);
      const bad = scripted(seeder.swarm, newPeerId(), clock);
      bad.send({ type: 'interested' });
      await flush(clock);
      expect(bad.atSwarm.closed).toBe(true);

      expect(events.closed).toEqual([[bad.id, 'ERR_CAPABILITY']]);
      expect(bad.inbox.map((m) => m.type)).toEqual(['handshake']);
    });
  });

  it.each<[string, (peer: ScriptedPeer, infoHash: string) => void]>([
    ['another swarm', (peer) => peer.handshake('ab'.repeat(32))],
    ['the previous wire version', (peer, infoHash) => peer.handshake(infoHash, { version: WIRE_VERSION - 1 })],
    [
      'another peer ID than the link was opened to',
      (peer, infoHash) => peer.handshake(infoHash, { peerId: 'f'.repeat(40) }),
    ],
  ])('closes a handshake for %s with ERR_BAD_HANDSHAKE', async (_what, sendHandshake) => {
    const clock = new FakeClock();
    const seeder = await newSeeder(random(40_000), { clock });
    const events = record(seeder.swarm);
    const peer = scripted(seeder.swarm, newPeerId(), clock);
    sendHandshake(peer, seeder.infoHash);
    await flush(clock);
    expect(peer.atSwarm.closed).toBe(true);

    expect(peer.atSwarm.closeCode).toBe('ERR_BAD_HANDSHAKE');
    expect(events.closed).toEqual([[peer.id, 'ERR_BAD_HANDSHAKE']]);
    expect(events.log).not.toContain('peer');
    // Nothing about the file went to a peer that never proved it belongs to the swarm.
    expect(peer.inbox.map((m) => m.type)).toEqual(['handshake']);
  });

  it('two swarms for different files part with ERR_BAD_HANDSHAKE', async () => {
    const clock = new FakeClock();
    const seeder = await newSeeder(random(40_000), { clock });
    const leecher = newLeecher('cd'.repeat(32), clock);
    const events = record(leecher.swarm);

    const [atLeecher] = connect(leecher.swarm, seeder.swarm, undefined, clock);
    await flush(clock);
    expect(atLeecher.closed).toBe(true);

    expect(events.closed).toEqual([[seeder.swarm.peerId, 'ERR_BAD_HANDSHAKE']]);
    expect(leecher.swarm.manifest).toBeNull();
  });
});

describe('Swarm.destroy', () => {
  it('closes its links, emits close last, and emits or stores nothing afterwards', async () => {
    const data = random(300 * 1024 + 1000);
    const seeder = await newSeeder(data);
    const seederEvents = record(seeder.swarm);
    const leecher = newLeecher(seeder.infoHash);
    const events = record(leecher.swarm);
    let eventsAtDestroy = -1;
    leecher.swarm.once('piece', () => {
      leecher.swarm.destroy();
      eventsAtDestroy = events.log.length;
      leecher.swarm.destroy();
    });

    const [atLeecher, atSeeder] = connect(leecher.swarm, seeder.swarm);
    await until(() => atSeeder.closed, WAIT_MS, 'the seeder to see the hang-up');
    // Let frames in flight and pending hash checks run into the destroyed swarm.
    for (let i = 0; i < 20; i++) await nextMacrotask();

    expect(leecher.swarm.destroyed).toBe(true);
    expect(events.log.at(-1)).toBe('close');
    expect(events.log.length).toBe(eventsAtDestroy);
    expect(events.log.filter((e) => e === 'close').length).toBe(1);
    expect(events.log).not.toContain('peer-closed');
    expect(leecher.store.writes.filter((w) => w.afterDestroy)).toEqual([]);
    expect(leecher.swarm.peerIds).toEqual([]);
    expect(atLeecher.closed).toBe(true);
    expect(seederEvents.closed).toEqual([[leecher.swarm.peerId, undefined]]);
    expect(seeder.swarm.peerIds).toEqual([]);
  });

  it('closes a link handed to it after destroy()', () => {
    const { swarm } = newLeecher('ab'.repeat(32));
    swarm.destroy();
    const [atSwarm] = linkPair(swarm.peerId, newPeerId());
    swarm.addLink(atSwarm);
    expect(atSwarm.closed).toBe(true);
  });
});

describe('Swarm and a failing store', () => {
  it('a read error while serving does not become an unhandled rejection', async () => {
    const data = random(3 * BLOCK_LENGTH);
    const seed = await seedable('data.bin', data);
    const unreadable = new ReaderPieceStore(seed.manifest, () =>
      Promise.reject(new Error('NotReadableError: the file changed on disk')),
    );
    const clock = new FakeClock();
    const seeder = new Swarm(
      { peerId: newPeerId(), store: unreadable, clock },
      { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
    );
    swarms.push(seeder);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const peer = scripted(seeder, newPeerId(), clock);
      peer.handshake(seed.infoHash);
      peer.send({ type: 'interested' });
      await flush(clock);
      expect(peer.received('unchoke').length).toBe(1);
      peer.send({ type: 'request', index: 0, begin: 0, length: BLOCK_LENGTH });
      await flush(clock);
      // Node reports an unhandled rejection after the microtasks of a turn: give it turns.
      for (let i = 0; i < 20; i++) await nextMacrotask();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});
