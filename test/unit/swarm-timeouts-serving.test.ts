/**
 * Serving the manifest without amplification, on a FakeClock: one request per peer at a time
 * (more are dropped and counted), answers within the upload limit, behind the link's
 * backpressure, and only to peers we unchoke.
 */
import { randomBytes } from 'node:crypto';
import {
  BLOCK_LENGTH,
  encodeManifest,
  METADATA_CHUNK_LENGTH,
  MemoryPieceStore,
  type PeerWire,
  Swarm,
  UPLOAD_SLOTS,
  Uploader,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { newPeerId, type ScriptedPeer, scripted } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';
import { handshakenWire, wireHandlers } from '../helpers/swarm-fixtures.js';

const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

/** A seeder whose manifest is a few KiB (one hash per 16 KiB piece), on a FakeClock. */
async function seeder(random: () => number = () => 0) {
  const data = new Uint8Array(randomBytes(64 * BLOCK_LENGTH));
  const seed = await seedable('data.bin', data, BLOCK_LENGTH);
  const clock = new FakeClock();
  const swarm = new Swarm(
    { peerId: newPeerId(), store: seed.store, clock, random },
    { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
  );
  swarms.push(swarm);
  const encoded = encodeManifest(seed.manifest);
  return { swarm, clock, seed, encoded };
}

const metadataBytes = (p: ScriptedPeer) => p.received('metadata-data').reduce((sum, m) => sum + m.data.length, 0);

describe('serving the manifest', () => {
  it('answers one request per peer at a time, within the upload limit, and counts the rest as dropped', async () => {
    const { swarm, clock, seed, encoded } = await seeder();
    expect(encoded.length).toBeGreaterThan(2048);
    expect(encoded.length).toBeLessThan(METADATA_CHUNK_LENGTH);
    const rate = 1024;
    swarm.setRateLimits({ upload: rate });
    const p = scripted(swarm, newPeerId(), clock);
    p.handshake(seed.infoHash);
    await flush(clock);
    // A flood of 5-byte requests for the whole manifest, 10 every 100 ms for 10 s.
    const start = clock.now();
    const seconds = 10;
    for (let tick = 0; tick < seconds * 10; tick++) {
      for (let i = 0; i < 10; i++) p.send({ type: 'metadata-request', chunk: 0 });
      await flush(clock);
      clock.advance(100);
    }
    await flush(clock);
    const elapsed = (clock.now() - start) / 1000;
    // A token bucket lets half a second's worth be saved up, and one message go into debt.
    const allowance = rate * elapsed + rate / 2 + encoded.length;
    const sent = metadataBytes(p);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(allowance);
    // Every answer is the real first chunk.
    for (const m of p.received('metadata-data')) expect(Buffer.from(m.data)).toEqual(Buffer.from(encoded));
    // Almost every request was dropped, none queued: at most one waits at any time.
    const answered = p.received('metadata-data').length;
    expect(swarm.stats().metadataDropped).toBeGreaterThanOrEqual(seconds * 100 - answered - 1);
    // It is not piece payload.
    expect(swarm.stats().uploaded).toBe(0);
  });

  it('holds the request of a peer it chokes until a slot frees, then answers it', async () => {
    // Random 0.99: a new optimistic peer is the last eligible one.
    const { swarm, clock, seed, encoded } = await seeder(() => 0.99);
    const busy: ScriptedPeer[] = [];
    for (let i = 0; i < UPLOAD_SLOTS + 1; i++) {
      const p = scripted(swarm, newPeerId(), clock);
      p.handshake(seed.infoHash);
      p.send({ type: 'interested' });
      busy.push(p);
    }
    await flush(clock);
    const unchoked = (p: ScriptedPeer) =>
      p.inbox.filter((m) => m.type === 'choke' || m.type === 'unchoke').at(-1)?.type === 'unchoke';
    expect(busy.every(unchoked)).toBe(true);

    // A new leecher asks for the manifest: every slot is taken, so it waits, choked.
    const late = scripted(swarm, newPeerId(), clock);
    late.handshake(seed.infoHash);
    late.send({ type: 'metadata-request', chunk: 0 });
    late.send({ type: 'metadata-request', chunk: 0 });
    await flush(clock);
    expect(unchoked(late)).toBe(false);
    expect(late.received('metadata-data')).toEqual([]);
    expect(swarm.stats().metadataDropped).toBe(1);

    // One busy peer leaves: the waiting one gets the slot, and its chunk.
    busy[0]!.link.close();
    await flush(clock);
    expect(unchoked(late)).toBe(true);
    expect(late.received('metadata-data').map((m) => m.data.length)).toEqual([encoded.length]);
  });
});

describe('Uploader and manifest chunks', () => {
  function setup() {
    const clock = new FakeClock();
    const peers = new Map<string, PeerWire>();
    const chunk = new Uint8Array(randomBytes(METADATA_CHUNK_LENGTH));
    const uploader = new Uploader({ clock }, new MemoryPieceStore(), peers, () => undefined, {
      readFailed: () => {},
      metadataChunk: (c) => (c < 2 ? { total: 2 * METADATA_CHUNK_LENGTH, data: chunk } : null),
    });
    const { wire, link } = handshakenWire(
      clock,
      'cd'.repeat(32),
      wireHandlers({ drain: (w) => void uploader.pump(w) }),
    );
    wire.attach();
    peers.set(link.remoteId, wire);
    return { clock, uploader, wire, link };
  }

  it('waits for drain when the link is full, and sends nothing to a peer it chokes', async () => {
    const { uploader, wire, link } = setup();
    wire.metadataWanted = 0;
    await uploader.pump(wire);
    expect(link.sentOf('metadata-data')).toEqual([]); // choked

    wire.setChoking(false);
    link.accept = false;
    await uploader.pump(wire);
    expect(link.sentOf('metadata-data').map((m) => m.chunk)).toEqual([0]);
    expect(wire.metadataWanted).toBeNull();
    // The link said "wait": the next chunk stays held until it drains.
    wire.metadataWanted = 1;
    await uploader.pump(wire);
    expect(link.sentOf('metadata-data').map((m) => m.chunk)).toEqual([0]);
    link.accept = true;
    link.drain();
    await Promise.resolve();
    expect(link.sentOf('metadata-data').map((m) => m.chunk)).toEqual([0, 1]);
    expect(uploader.metadataBytes).toBe(2 * METADATA_CHUNK_LENGTH);
    expect(uploader.meter.total).toBe(0);
  });

  it('goes through the upload limit with the blocks', async () => {
    const { clock, uploader, wire, link } = setup();
    wire.setChoking(false);
    uploader.limit.setRate(METADATA_CHUNK_LENGTH);
    wire.metadataWanted = 0;
    await uploader.pump(wire);
    wire.metadataWanted = 1;
    await uploader.pump(wire);
    // One chunk on credit; the second waits a second's worth of the limit.
    expect(link.sentOf('metadata-data').map((m) => m.chunk)).toEqual([0]);
    expect(wire.metadataWanted).toBe(1);
    clock.advance(999);
    await Promise.resolve();
    expect(link.sentOf('metadata-data')).toHaveLength(1);
    clock.advance(1);
    await Promise.resolve();
    expect(link.sentOf('metadata-data').map((m) => m.chunk)).toEqual([0, 1]);
    uploader.destroy();
  });
});
