/** FileStreams: reading one file of a download while it downloads, the playhead's pieces first. */
import { randomBytes } from 'node:crypto';
import {
  Bitfield,
  createManifest,
  decodeMessage,
  Emitter,
  FileStreams,
  hashPieces,
  infoHashOf,
  type Manifest,
  MemoryPieceStore,
  type PieceRange,
  ReaderPieceStore,
  STREAM_CHUNK_BYTES,
  STREAM_WINDOW_BYTES,
  Swarm,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, newPeerId } from '../helpers/fake-link.js';
import { noteShare } from '../helpers/leak-check.js';

const PIECE = 64 * 1024;

/** A share of two files laid end to end, with a full seeder's store. */
async function twoFiles(first: Uint8Array, second: Uint8Array) {
  const data = new Uint8Array(first.length + second.length);
  data.set(first);
  data.set(second, first.length);
  const read = async (offset: number, length: number) => data.subarray(offset, offset + length);
  const manifest: Manifest = createManifest({
    name: 'clip',
    files: [
      { path: 'clip/notes.txt', length: first.length },
      { path: 'clip/video.webm', length: second.length },
    ],
    pieceLength: PIECE,
    pieces: await hashPieces(data.length, PIECE, read),
  });
  const infoHash = await infoHashOf(manifest);
  noteShare(infoHash);
  return {
    manifest,
    infoHash,
    store: new ReaderPieceStore(manifest, read),
    have: Bitfield.full(manifest.pieces.length),
  };
}

async function readAll(stream: { next(): Promise<Uint8Array | null> }): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let chunk = await stream.next(); chunk; chunk = await stream.next()) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Just enough of a swarm to watch the priority windows the streams ask for. */
class WatchedSwarm extends Emitter<{ piece: [index: number]; close: [] }> {
  readonly destroyed = false;
  readonly priorities: PieceRange[][] = [];
  readonly held = new Set<number>();
  constructor(readonly manifest: Manifest) {
    super();
  }
  hasPiece(index: number): boolean {
    return this.held.has(index);
  }
  setPriority(ranges: readonly PieceRange[]): void {
    this.priorities.push([...ranges]);
  }
  close(): void {
    this.emit('close');
  }
}

const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

describe('FileStreams', () => {
  it('gives a range of the second file as its pieces arrive, and the leecher asks for that range first', async () => {
    const notes = new Uint8Array(randomBytes(3 * PIECE + 100));
    const video = new Uint8Array(randomBytes(40 * PIECE + 7));
    const seed = await twoFiles(notes, video);
    const seeder = new Swarm(
      { peerId: newPeerId(), store: seed.store },
      { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
    );
    const store = new MemoryPieceStore();
    const leecher = new Swarm({ peerId: newPeerId(), store }, { infoHash: seed.infoHash, manifest: seed.manifest });
    swarms.push(seeder, leecher);
    const streams = new FileStreams(leecher, store);

    // A player's request for the bytes from 60% of the video on: nothing is held yet.
    const start = Math.floor(video.length * 0.6);
    const end = start + 5 * PIECE;
    const bytes = readAll(streams.open(1, start, end));
    const requested: number[] = [];
    connect(leecher, seeder, (frame) => {
      const m = decodeMessage(frame);
      if (m.type === 'request' && !requested.includes(m.index)) requested.push(m.index);
      return frame;
    });

    expect(Buffer.compare(await bytes, video.subarray(start, end))).toBe(0);
    // The range's pieces in the share (all files end to end) are the first asked for, in order.
    const absolute = notes.length + start;
    const first = Math.floor(absolute / PIECE);
    const last = Math.floor((absolute + 5 * PIECE - 1) / PIECE);
    const range = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    expect(requested.slice(0, range.length)).toEqual(range);
    expect(requested.length).toBeGreaterThan(range.length);
    expect(streams.size).toBe(1);
  });

  it('clips the end to the file, refuses what the file does not have, and reads in chunks of at most STREAM_CHUNK_BYTES', async () => {
    const notes = new Uint8Array(randomBytes(PIECE));
    const video = new Uint8Array(randomBytes(10 * PIECE));
    const seed = await twoFiles(notes, video);
    const swarm = new Swarm(
      { peerId: newPeerId(), store: seed.store },
      { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
    );
    swarms.push(swarm);
    const streams = new FileStreams(swarm, seed.store);
    const stream = streams.open(1, 100, Number.MAX_SAFE_INTEGER);
    expect(stream.remaining).toBe(video.length - 100);
    const chunks: number[] = [];
    const parts: Uint8Array[] = [];
    for (let c = await stream.next(); c; c = await stream.next()) {
      chunks.push(c.length);
      parts.push(c);
    }
    expect(Buffer.compare(Buffer.concat(parts), video.subarray(100))).toBe(0);
    expect(Math.max(...chunks)).toBeLessThanOrEqual(STREAM_CHUNK_BYTES);
    // An empty range at the very end is allowed (a player probing the length); past it is not.
    expect(await streams.open(1, video.length, video.length).next()).toBeNull();
    expect(() => streams.open(1, video.length + 1, video.length + 2)).toThrow(RangeError);
    expect(() => streams.open(2, 0, 1)).toThrow(RangeError);
    expect(() => streams.open(0, -1, 1)).toThrow(RangeError);
    expect(() => streams.open(0, 0.5, 1)).toThrow(RangeError);
  });

  it('puts the most recently read stream first, and a closed stream wakes its reader with null and drops its window', async () => {
    const seed = await twoFiles(new Uint8Array(PIECE), new Uint8Array(100 * PIECE));
    const swarm = new WatchedSwarm(seed.manifest);
    const streams = new FileStreams(swarm, new MemoryPieceStore());
    const early = streams.open(1, 0, 100 * PIECE);
    const late = streams.open(1, 80 * PIECE, 100 * PIECE);
    const earlyRead = early.next();
    const lateRead = late.next();
    const windowPieces = STREAM_WINDOW_BYTES / PIECE;
    // Absolute pieces: the video starts at piece 1.
    expect(swarm.priorities.at(-1)).toEqual([
      { from: 81, to: 101 }, // clipped at the end of its range
      { from: 1, to: 1 + windowPieces },
    ]);
    late.close();
    expect(await lateRead).toBeNull();
    expect(swarm.priorities.at(-1)).toEqual([{ from: 1, to: 1 + windowPieces }]);
    streams.destroy();
    expect(await earlyRead).toBeNull();
    expect(swarm.priorities.at(-1)).toEqual([]);
    expect(streams.size).toBe(0);
  });

  it('ends a waiting read with null when the swarm closes', async () => {
    const seed = await twoFiles(new Uint8Array(PIECE), new Uint8Array(4 * PIECE));
    const swarm = new WatchedSwarm(seed.manifest);
    const streams = new FileStreams(swarm, new MemoryPieceStore());
    const read = streams.open(1, 0, PIECE).next();
    swarm.close();
    expect(await read).toBeNull();
    expect(streams.size).toBe(0);
  });
});
