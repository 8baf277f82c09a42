/** Uploader on its own: serving queued requests within the rate limits, on a FakeClock. */
import { randomBytes } from 'node:crypto';
import {
  Bitfield,
  BLOCK_LENGTH,
  equalBytes,
  MAX_QUEUED_REQUESTS,
  type Manifest,
  MemoryPieceStore,
  type PeerWire,
  RateLimiter,
  Uploader,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/error-code.js';
import { drainImmediates, FakeClock } from '../helpers/fake-clock.js';
import { blankManifest, handshakenWire, wireHandlers } from '../helpers/swarm-fixtures.js';

const PIECES = 16;

async function setup(options: { sharedRate?: number; seeding?: boolean } = {}) {
  const clock = new FakeClock();
  const manifest: Manifest = blankManifest(PIECES, BLOCK_LENGTH);
  const have = Bitfield.full(PIECES);
  const store = new MemoryPieceStore();
  const data = new Uint8Array(randomBytes(PIECES * BLOCK_LENGTH));
  for (let i = 0; i < PIECES; i++) await store.write(i, data.subarray(i * BLOCK_LENGTH, (i + 1) * BLOCK_LENGTH));
  const peers = new Map<string, PeerWire>();
  const readErrors: string[] = [];
  const shared = options.sharedRate === undefined ? undefined : new RateLimiter(() => clock.now(), options.sharedRate);
  const uploader = new Uploader({ clock }, store, peers, () => shared, {
    readFailed: (what) => readErrors.push(what),
    seeding: () => options.seeding ?? false,
  });
  const handlers = wireHandlers({ drain: (wire) => void uploader.pump(wire) });
  /** A handshaken peer we unchoked. */
  const addPeer = () => {
    const { wire, link } = handshakenWire(clock, 'ab'.repeat(32), handlers);
    wire.attach();
    wire.setChoking(false);
    peers.set(link.remoteId, wire);
    return { wire, link };
  };
  const requestAll = (wire: PeerWire) => {
    for (let i = 0; i < PIECES; i++)
      uploader.request(wire, { index: i, begin: 0, length: BLOCK_LENGTH }, manifest, have);
  };
  return { clock, uploader, manifest, have, data, addPeer, requestAll, readErrors, store, peers };
}

describe('Uploader', () => {
  it('sends no faster than its limit, on the clock, and catches up when the limit is lifted', async () => {
    const { clock, uploader, addPeer, requestAll, data } = await setup();
    const rate = 4 * BLOCK_LENGTH; // bytes per second
    uploader.limit.setRate(rate);
    const peer = addPeer();
    requestAll(peer.wire);
    await drainImmediates();
    const sentBytes = () => peer.link.sentOf('piece').length * BLOCK_LENGTH;
    // The first block goes at once; the limiter then owes a block's worth.
    expect(sentBytes()).toBe(BLOCK_LENGTH);
    for (let t = 250; t <= 2000; t += 250) {
      clock.advance(250);
      await drainImmediates();
      // Within one block of the rate, never above it by more than that block.
      expect(sentBytes()).toBeLessThanOrEqual((rate * t) / 1000 + BLOCK_LENGTH);
      expect(sentBytes()).toBeGreaterThanOrEqual((rate * t) / 1000 - BLOCK_LENGTH);
    }
    uploader.limit.setRate(null);
    uploader.pumpAll();
    await drainImmediates();
    const pieces = peer.link.sentOf('piece');
    expect(pieces.map((p) => p.index)).toEqual([...Array(PIECES).keys()]);
    for (const p of pieces) {
      expect(equalBytes(p.data, data.subarray(p.index * BLOCK_LENGTH, (p.index + 1) * BLOCK_LENGTH))).toBe(true);
    }
    expect(uploader.meter.total).toBe(PIECES * BLOCK_LENGTH);
    expect(peer.wire.uploadMeter.total).toBe(PIECES * BLOCK_LENGTH);
  });

  it('obeys the limit shared with other swarms as well as its own', async () => {
    const { clock, uploader, addPeer, requestAll } = await setup({ sharedRate: 2 * BLOCK_LENGTH });
    uploader.limit.setRate(8 * BLOCK_LENGTH);
    const peer = addPeer();
    requestAll(peer.wire);
    await drainImmediates();
    clock.advance(1000);
    await drainImmediates();
    // The tighter limit (2 blocks per second) decides: 1 at once, 2 more within a second.
    expect(peer.link.sentOf('piece')).toHaveLength(3);
    uploader.destroy();
    expect(clock.pending).toBe(0);
  });

  it('waits for drain when the link is full, then goes on', async () => {
    const { addPeer, requestAll } = await setup();
    const peer = addPeer();
    peer.link.accept = false;
    requestAll(peer.wire);
    await drainImmediates();
    expect(peer.link.sentOf('piece')).toHaveLength(1);
    expect(peer.wire.waitingForDrain).toBe(true);
    peer.link.accept = true;
    peer.link.drain();
    await drainImmediates();
    expect(peer.link.sentOf('piece')).toHaveLength(PIECES);
  });

  it('drops requests from a choked peer and for pieces we lack; too many queued is ERR_BAD_FRAME', async () => {
    const { uploader, addPeer, manifest, have } = await setup();
    const choked = addPeer();
    choked.wire.setChoking(true);
    uploader.request(choked.wire, { index: 0, begin: 0, length: BLOCK_LENGTH }, manifest, have);
    const lacking = addPeer();
    uploader.request(lacking.wire, { index: 0, begin: 0, length: BLOCK_LENGTH }, manifest, new Bitfield(PIECES));
    await drainImmediates();
    expect(choked.link.sentOf('piece')).toEqual([]);
    expect(lacking.link.sentOf('piece')).toEqual([]);

    const greedy = addPeer();
    greedy.link.accept = false; // nothing leaves the queue but the first block
    const code = errorCode(() => {
      for (let i = 0; i <= MAX_QUEUED_REQUESTS + 1; i++) {
        uploader.request(greedy.wire, { index: i % PIECES, begin: 0, length: BLOCK_LENGTH }, manifest, have);
      }
    });
    expect(code).toBe('ERR_BAD_FRAME');
    expect(greedy.wire.uploads.length).toBeLessThanOrEqual(MAX_QUEUED_REQUESTS);
  });

  it('reports a read error and skips the block; a detached peer is not served', async () => {
    const { uploader, addPeer, manifest, have, store, readErrors } = await setup();
    const peer = addPeer();
    store.destroy(); // every read now fails
    uploader.request(peer.wire, { index: 0, begin: 0, length: BLOCK_LENGTH }, manifest, have);
    await drainImmediates();
    expect(peer.link.sentOf('piece')).toEqual([]);
    expect(readErrors).toEqual(['reading piece 0']);
    expect(peer.wire.uploads).toEqual([]);

    const gone = addPeer();
    gone.wire.detach();
    uploader.request(gone.wire, { index: 1, begin: 0, length: BLOCK_LENGTH }, manifest, have);
    await drainImmediates();
    expect(gone.link.sentOf('piece')).toEqual([]);
  });

  it('while seeding, refuses a piece it began sending another connected peer, once per block, and serves it once that peer left', async () => {
    const { uploader, addPeer, manifest, have, peers } = await setup({ seeding: true });
    const block = (index: number) => ({ index, begin: 0, length: BLOCK_LENGTH });
    const ask = async (peer: ReturnType<typeof addPeer>, index: number) => {
      uploader.request(peer.wire, block(index), manifest, have);
      await drainImmediates();
    };
    const sent = (peer: ReturnType<typeof addPeer>) => peer.link.sentOf('piece').map((p) => p.index);
    const refused = (peer: ReturnType<typeof addPeer>) => peer.link.sentOf('reject');
    const a = addPeer();
    const b = addPeer();
    await ask(a, 0);
    await ask(b, 0);
    await ask(b, 1);
    expect(sent(a)).toEqual([0]);
    // Piece 0 went to a: b is told to get it there, and gets piece 1, which nobody had.
    expect(refused(b)).toEqual([{ type: 'reject', ...block(0) }]);
    expect(sent(b)).toEqual([1]);
    await ask(a, 1);
    expect(refused(a)).toEqual([{ type: 'reject', ...block(1) }]);
    // Asked again, a refused block is served: the peer it went to may not pass it on.
    await ask(b, 0);
    expect(sent(b)).toEqual([1, 0]);
    // A piece whose first taker left goes to the next one who asks.
    peers.delete(b.link.remoteId);
    const c = addPeer();
    await ask(c, 1);
    expect(sent(c)).toEqual([1]);
    expect(refused(c)).toEqual([]);
    // So does one whose first taker was choked since: it will not be sent the rest.
    await ask(c, 2);
    c.wire.setChoking(true);
    await ask(a, 2);
    expect(sent(a)).toEqual([0, 2]);
    // Once the first taker has the whole piece, it may be seeding (and refusing) too: served.
    a.wire.bits = new Bitfield(PIECES);
    a.wire.bits.set(2);
    const d = addPeer();
    await ask(d, 2);
    expect(sent(d)).toEqual([2]);
    expect(refused(d)).toEqual([]);
    expect(uploader.meter.total).toBe(7 * BLOCK_LENGTH);
  });

  it('refuses nothing while not seeding: a leecher serves every piece it has to everyone', async () => {
    const { uploader, addPeer, manifest, have } = await setup({ seeding: false });
    const peers = [addPeer(), addPeer(), addPeer()];
    for (const peer of peers) uploader.request(peer.wire, { index: 3, begin: 0, length: BLOCK_LENGTH }, manifest, have);
    await drainImmediates();
    for (const peer of peers) {
      expect(peer.link.sentOf('piece').map((p) => p.index)).toEqual([3]);
      expect(peer.link.sentOf('reject')).toEqual([]);
    }
  });
});
