/** BlockScheduler on its own: requests, endgame, the window and the rate limit, step by step on a FakeClock. */
import { randomBytes } from 'node:crypto';
import {
  Bitfield,
  BLOCK_LENGTH,
  BlockScheduler,
  equalBytes,
  MAX_PIPELINE,
  type PartialPiece,
  PeerWire,
  PIPELINE_DEPTH,
  PiecePicker,
  RateLimiter,
  REFUSED_PIECE_MS,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/error-code.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { newPeerId, RecordingLink } from '../helpers/fake-link.js';
import { blankManifest, handshakenWire, wireHandlers } from '../helpers/swarm-fixtures.js';

const INFO_HASH = 'ab'.repeat(32);

interface Setup {
  pieces?: number;
  blocksPerPiece?: number;
  /** Bytes per second of a limit shared with other swarms. */
  sharedRate?: number;
  suspects?: Set<number>;
}

function setup({ pieces = 1, blocksPerPiece = 2, sharedRate, suspects = new Set() }: Setup = {}) {
  const clock = new FakeClock();
  const sharedLimit = sharedRate === undefined ? undefined : new RateLimiter(() => clock.now(), sharedRate);
  const manifest = blankManifest(pieces, blocksPerPiece * BLOCK_LENGTH);
  const have = new Bitfield(pieces);
  const picker = new PiecePicker(pieces, { random: () => 0, sequential: true });
  const peers = new Map<string, PeerWire>();
  const completed: [index: number, piece: PartialPiece][] = [];
  // As in the swarm: a complete piece is being verified, and not to be started again meanwhile.
  const verifying = new Set<number>();
  const scheduler = new BlockScheduler({ clock }, peers, () => sharedLimit, {
    mayStart: (i) => !have.has(i) && !verifying.has(i),
    isSuspect: (i) => suspects.has(i),
    complete: (index, piece) => {
      verifying.add(index);
      completed.push([index, piece]);
    },
  });
  scheduler.start(manifest, have, picker);

  /** A connected peer that has every piece and has unchoked us. */
  const addPeer = () => {
    const { wire, link } = handshakenWire(clock, INFO_HASH);
    wire.chokedByRemote = false;
    wire.bits = Bitfield.full(pieces);
    picker.addBitfield(wire.bits);
    peers.set(link.remoteId, wire);
    return { wire, link };
  };
  const block = () => new Uint8Array(randomBytes(BLOCK_LENGTH));
  return { clock, manifest, have, picker, scheduler, peers, completed, addPeer, block };
}

describe('BlockScheduler', () => {
  it('stops asking a peer whose link closed during a send (its bitfield gone), instead of throwing', () => {
    const { scheduler, addPeer } = setup({ blocksPerPiece: 4 });
    const a = addPeer();
    const send = a.link.send.bind(a.link);
    a.link.send = (frame) => {
      // As the swarm does when a link fails under a send: the peer is removed, its bits dropped.
      a.wire.bits = null;
      return send(frame);
    };
    expect(() => scheduler.requestMore(a.wire)).not.toThrow();
    expect(a.link.sentOf('request')).toHaveLength(1);
  });

  it('asks one peer for every block of a piece, once, and hands the piece over when it is complete', () => {
    const { scheduler, addPeer, completed, block } = setup();
    const a = addPeer();
    scheduler.requestMore(a.wire);
    expect(a.link.sentOf('request')).toEqual([
      { type: 'request', index: 0, begin: 0, length: BLOCK_LENGTH },
      { type: 'request', index: 0, begin: BLOCK_LENGTH, length: BLOCK_LENGTH },
    ]);
    // Asking again adds nothing: both blocks are in flight.
    scheduler.requestMore(a.wire);
    expect(a.link.sentOf('request')).toHaveLength(2);
    expect(scheduler.endgame).toBe(false);

    const first = block();
    const second = block();
    scheduler.receive(a.wire, 0, 0, first);
    expect(completed).toEqual([]);
    scheduler.receive(a.wire, 0, BLOCK_LENGTH, second);
    expect(completed).toHaveLength(1);
    const [index, piece] = completed[0]!;
    expect(index).toBe(0);
    expect(equalBytes(piece.data.subarray(0, BLOCK_LENGTH), first)).toBe(true);
    expect(equalBytes(piece.data.subarray(BLOCK_LENGTH), second)).toBe(true);
    expect([...piece.received.values()]).toEqual([a.link.remoteId, a.link.remoteId]);
    expect(scheduler.partialPieces).toEqual([]);
    expect(a.wire.downloaded).toBe(2 * BLOCK_LENGTH);
    // Not asked for again while it is being verified.
    expect(a.link.sentOf('request')).toHaveLength(2);
  });

  it('in endgame asks an idle peer for blocks in flight elsewhere, cancels the loser, and counts a late copy only in the rate', () => {
    const { clock, scheduler, addPeer, completed, block } = setup();
    const slow = addPeer();
    scheduler.requestMore(slow.wire);
    expect(slow.link.sentOf('request')).toHaveLength(2);
    expect(scheduler.endgame).toBe(false);

    // Step 1: a second peer has nothing new to fetch, so it gets duplicates: endgame.
    const fast = addPeer();
    scheduler.requestMore(fast.wire);
    expect(fast.link.sentOf('request').map((r) => r.begin)).toEqual([0, BLOCK_LENGTH]);
    expect(scheduler.endgame).toBe(true);

    // Step 2: 40 ms later the fast peer's first block arrives; the slow peer is told to drop it.
    clock.advance(40);
    const first = block();
    scheduler.receive(fast.wire, 0, 0, first);
    expect(fast.wire.minRtt).toBe(40);
    expect(slow.link.sentOf('cancel')).toEqual([{ type: 'cancel', index: 0, begin: 0, length: BLOCK_LENGTH }]);
    expect(slow.wire.inflight.size).toBe(1);

    // Step 3: the slow peer's copy arrives anyway: no longer asked of it, so it is dropped.
    scheduler.receive(slow.wire, 0, 0, block());
    expect(slow.wire.downloaded).toBe(0);
    expect(slow.wire.downloadMeter.total).toBe(0);

    // Step 4: the slow peer wins the second block; the fast peer is cancelled this time.
    clock.advance(60);
    scheduler.receive(slow.wire, 0, BLOCK_LENGTH, block());
    expect(fast.link.sentOf('cancel')).toEqual([
      { type: 'cancel', index: 0, begin: BLOCK_LENGTH, length: BLOCK_LENGTH },
    ]);
    expect(completed).toHaveLength(1);
    expect(completed[0]![1].received).toEqual(
      new Map([
        [0, fast.link.remoteId],
        [BLOCK_LENGTH, slow.link.remoteId],
      ]),
    );
    expect(slow.wire.minRtt).toBe(100);
    // The endgame flag reports that endgame was reached; it stays set.
    expect(scheduler.endgame).toBe(true);
  });

  it('hands back the requests of a peer that chokes us, for another peer to fetch', () => {
    const { scheduler, addPeer } = setup({ pieces: 2, blocksPerPiece: 1 });
    const a = addPeer();
    scheduler.requestMore(a.wire);
    expect(a.link.sentOf('request').map((r) => r.index)).toEqual([0, 1]);
    a.wire.chokedByRemote = true;
    scheduler.release(a.wire);
    expect(a.wire.inflight.size).toBe(0);

    const b = addPeer();
    scheduler.requestMore(b.wire);
    // Plain requests again, not endgame duplicates.
    expect(b.link.sentOf('request').map((r) => r.index)).toEqual([0, 1]);
    expect(scheduler.endgame).toBe(false);
  });

  it('asks others for a piece a peer refused, asks that peer again by itself after REFUSED_PIECE_MS, and ignores a refusal of nothing asked', () => {
    const { clock, scheduler, addPeer, peers, block } = setup({ pieces: 2, blocksPerPiece: 2 });
    const a = addPeer();
    scheduler.requestMore(a.wire);
    const asked = (peer: ReturnType<typeof addPeer>) => peer.link.sentOf('request').map((r) => `${r.index}:${r.begin}`);
    expect(asked(a)).toEqual(['0:0', `0:${BLOCK_LENGTH}`, '1:0', `1:${BLOCK_LENGTH}`]);
    // A refusal of a block we never asked this peer for changes nothing.
    scheduler.refused(a.wire, { index: 1, begin: 0, length: 1 });
    scheduler.refused(a.wire, { index: 7, begin: 0, length: BLOCK_LENGTH });
    expect(a.wire.inflight.size).toBe(4);
    expect(a.wire.refusedUs.size).toBe(0);

    scheduler.refused(a.wire, { index: 0, begin: 0, length: BLOCK_LENGTH });
    expect(a.wire.inflight.has('0:0')).toBe(false);
    expect(a.wire.refusedUs.has(0)).toBe(true);
    // Not asked of the peer that refused it, even with its pipeline free: another peer gets it.
    scheduler.receive(a.wire, 1, 0, block());
    expect(asked(a)).toHaveLength(4);
    const b = addPeer();
    scheduler.requestMore(b.wire);
    // (then endgame copies of what is in flight at a)
    expect(asked(b)[0]).toBe('0:0');
    // b leaves without it: once REFUSED_PIECE_MS has passed, the peer that refused it is asked again,
    // by the scheduler's own timer (nothing else need happen on the link).
    scheduler.release(b.wire);
    peers.delete(b.link.remoteId);
    scheduler.requestMore(a.wire);
    clock.advance(REFUSED_PIECE_MS - 1);
    // (what b had in flight and a too is not asked of a twice)
    expect(asked(a)).toHaveLength(4);
    clock.advance(1);
    expect(asked(a).slice(4)).toEqual(['0:0']);
  });

  it('forgets a refusal that ran out once the piece came from elsewhere, and leaves no timer behind', () => {
    const { clock, scheduler, addPeer, completed, block } = setup({ pieces: 1, blocksPerPiece: 1 });
    const a = addPeer();
    scheduler.requestMore(a.wire);
    scheduler.refused(a.wire, { index: 0, begin: 0, length: BLOCK_LENGTH });
    const b = addPeer();
    scheduler.requestMore(b.wire);
    scheduler.receive(b.wire, 0, 0, block());
    expect(completed.map(([i]) => i)).toEqual([0]);
    // The retry for a comes, finds nothing to ask (the piece is being verified), and stops there.
    clock.advance(REFUSED_PIECE_MS + 100);
    expect(a.wire.refusedUs.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('lets only one peer fill a suspect piece, and starts it over when that peer leaves', () => {
    const { scheduler, addPeer } = setup({ pieces: 1, blocksPerPiece: 2, suspects: new Set([0]) });
    const a = addPeer();
    const b = addPeer();
    scheduler.requestMore(a.wire);
    expect(a.link.sentOf('request')).toHaveLength(2);
    scheduler.requestMore(b.wire);
    // No duplicates of a suspect piece, not even in endgame.
    expect(b.link.sentOf('request')).toEqual([]);

    scheduler.release(a.wire);
    expect(scheduler.partialPieces).toEqual([]);
    scheduler.requestMore(b.wire);
    expect(b.link.sentOf('request')).toHaveLength(2);
  });

  it('keeps PIPELINE_DEPTH requests outstanding, more when the bandwidth-delay product is large, never over MAX_PIPELINE', () => {
    const { clock, scheduler, addPeer } = setup({ pieces: 1024, blocksPerPiece: 1 });
    const a = addPeer();
    expect(scheduler.window(a.wire)).toBe(PIPELINE_DEPTH);
    scheduler.requestMore(a.wire);
    expect(a.link.sentOf('request')).toHaveLength(PIPELINE_DEPTH);

    // A 500 ms round trip at about 2 MB/s: twice the product is about 128 blocks.
    a.wire.minRtt = 500;
    clock.advance(1000);
    a.wire.downloadMeter.add(8 * 1024 * 1024);
    const window = scheduler.window(a.wire);
    expect(window).toBeGreaterThan(PIPELINE_DEPTH);
    expect(window).toBeLessThan(MAX_PIPELINE);
    scheduler.requestMore(a.wire);
    expect(a.wire.inflight.size).toBe(window);

    // Far more than that: capped.
    a.wire.downloadMeter.add(1024 * 1024 * 1024);
    expect(scheduler.window(a.wire)).toBe(MAX_PIPELINE);
  });

  it('waits for the download limit, on the clock, and resumes when it allows', () => {
    const { clock, scheduler, addPeer } = setup({ pieces: 8, blocksPerPiece: 1 });
    scheduler.limit.setRate(BLOCK_LENGTH); // one block per second
    const a = addPeer();
    scheduler.requestMore(a.wire);
    expect(a.link.sentOf('request')).toHaveLength(1);
    clock.advance(999);
    expect(a.link.sentOf('request')).toHaveLength(1);
    clock.advance(1);
    expect(a.link.sentOf('request')).toHaveLength(2);
    clock.advance(3000);
    expect(a.link.sentOf('request')).toHaveLength(5);

    scheduler.limit.setRate(null);
    scheduler.requestAll();
    expect(a.link.sentOf('request')).toHaveLength(8);
  });

  it('obeys a limit shared with other swarms too, and a destroyed scheduler leaves no timer', () => {
    const { clock, scheduler, addPeer } = setup({ pieces: 4, blocksPerPiece: 1, sharedRate: BLOCK_LENGTH });
    const a = addPeer();
    scheduler.requestMore(a.wire);
    expect(a.link.sentOf('request')).toHaveLength(1);
    clock.advance(1000);
    expect(a.link.sentOf('request')).toHaveLength(2);
    expect(clock.pending).toBe(1);
    scheduler.destroy();
    expect(clock.pending).toBe(0);
    expect(scheduler.partialPieces).toEqual([]);
  });

  it('refuses a piece before the manifest and a block out of range with ERR_BAD_FRAME, and drops one not asked for', () => {
    const clock = new FakeClock();
    const peers = new Map<string, PeerWire>();
    const idle = new BlockScheduler({ clock }, peers, () => undefined, {
      mayStart: () => true,
      isSuspect: () => false,
      complete: () => {},
    });
    const link = new RecordingLink(newPeerId());
    const wire = new PeerWire(link, { clock }, { infoHash: INFO_HASH }, wireHandlers());
    expect(errorCode(() => idle.receive(wire, 0, 0, new Uint8Array(1)))).toBe('ERR_BAD_FRAME');

    const { scheduler, addPeer, completed } = setup();
    const a = addPeer();
    expect(errorCode(() => scheduler.receive(a.wire, 1, 0, new Uint8Array(BLOCK_LENGTH)))).toBe('ERR_BAD_FRAME');
    scheduler.receive(a.wire, 0, 0, new Uint8Array(BLOCK_LENGTH));
    expect(a.wire.downloadMeter.total).toBe(0);
    expect(completed).toEqual([]);
  });

  it('on a seek, cancels every request in flight, in the ranges or not, and asks from the new playhead on, in order', () => {
    const { scheduler, picker, addPeer, block } = setup({ pieces: 100, blocksPerPiece: 1 });
    const a = addPeer();
    const requested = () => a.link.sentOf('request').map((r) => r.index);
    const cancelled = () => a.link.sentOf('cancel').map((c) => c.index);
    const run = (from: number) => Array.from({ length: PIPELINE_DEPTH }, (_, i) => from + i);
    scheduler.requestMore(a.wire);
    expect(requested()).toEqual(run(0));

    // A player starts at piece 40: nothing there is started, so the pipeline starts over there.
    picker.setPriority([{ from: 40, to: 100 }]);
    scheduler.prioritize();
    expect(cancelled()).toEqual(run(0));
    expect(requested().slice(PIPELINE_DEPTH)).toEqual(run(40));

    // It seeks back to 35: what is in flight (40..71) lies in its window, but would come first.
    picker.setPriority([{ from: 35, to: 100 }]);
    scheduler.prioritize();
    expect(cancelled().slice(PIPELINE_DEPTH)).toEqual(run(40));
    expect(requested().slice(2 * PIPELINE_DEPTH)).toEqual(run(35));
    expect(a.wire.inflight.size).toBe(PIPELINE_DEPTH);

    // Piece 35 comes in and the window slides on; its next piece is first in line: nothing is cancelled.
    scheduler.receive(a.wire, 35, 0, block());
    picker.setPriority([{ from: 36, to: 100 }]);
    scheduler.prioritize();
    expect(cancelled()).toHaveLength(2 * PIPELINE_DEPTH);
  });

  it('on a seek to a piece already asked for behind others, cancels those ahead of it and asks for it first', () => {
    const { scheduler, picker, addPeer } = setup({ pieces: 100, blocksPerPiece: 2 });
    const a = addPeer();
    const requested = () => a.link.sentOf('request').map((r) => r.index);
    scheduler.requestMore(a.wire);
    // 32 blocks: pieces 0..15, two each, in order.
    expect(requested()).toEqual(Array.from({ length: PIPELINE_DEPTH }, (_, i) => Math.floor(i / 2)));

    // The playhead at 0 finds its piece first in line: nothing is cancelled.
    picker.setPriority([{ from: 0, to: 100 }]);
    scheduler.prioritize();
    expect(a.link.sentOf('cancel')).toEqual([]);

    // A seek to piece 10: its blocks are asked for, but behind those of 0..9 (20 blocks, at a
    // rate-limited seeder seconds of waiting). All are cancelled and 10 is asked for first.
    picker.setPriority([{ from: 10, to: 100 }]);
    scheduler.prioritize();
    expect(a.link.sentOf('cancel')).toHaveLength(PIPELINE_DEPTH);
    expect(requested().slice(PIPELINE_DEPTH, PIPELINE_DEPTH + 4)).toEqual([10, 10, 11, 11]);
    expect([...a.wire.inflight.values()][0]).toMatchObject({ index: 10, begin: 0 });
  });
});
