/**
 * Reading a file of a download while it downloads (a player's range requests): a
 * {@link FileStream} gives the bytes of [start, end) of one file in order, each chunk as soon
 * as its piece is verified, and meanwhile has the swarm fetch what it needs next: the pieces
 * from its position to {@link STREAM_WINDOW_BYTES} ahead come before all others
 * ({@link Swarm.setPriority}). A seek is a new stream at the new position; the most recently
 * read stream's window is the most urgent. Everything else goes on rarest first.
 */
import { fileRange, type Manifest } from './manifest.js';
import type { PieceRange } from './piece-picker.js';
import type { PieceStore } from './piece-store.js';

/** How far ahead of a stream's position its pieces are fetched first. */
export const STREAM_WINDOW_BYTES = 2 * 1024 * 1024;
/** The most bytes one chunk carries (a piece can be larger). */
export const STREAM_CHUNK_BYTES = 256 * 1024;

/** What a stream needs of the swarm (a {@link Swarm}). */
export interface StreamSwarm {
  readonly manifest: Manifest | null;
  readonly destroyed: boolean;
  hasPiece(index: number): boolean;
  setPriority(ranges: readonly PieceRange[]): void;
  on(event: 'piece', listener: (index: number) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'piece', listener: (index: number) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/** The streams open on one swarm, and the priority windows they ask for. */
export class FileStreams {
  readonly #swarm: StreamSwarm;
  readonly #store: PieceStore;
  /** Open streams, least recently read first. */
  readonly #open = new Set<FileStream>();

  constructor(swarm: StreamSwarm, store: PieceStore) {
    this.#swarm = swarm;
    this.#store = store;
  }

  /** How many streams are open. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * A stream of bytes [start, end) of file `fileIndex` (`end` is clipped to the file's length).
   * Throws a RangeError for a file or range the manifest does not have.
   */
  open(fileIndex: number, start: number, end: number): FileStream {
    const manifest = this.#swarm.manifest;
    if (!manifest) throw new RangeError('the file description is not known yet');
    const file = manifest.files[fileIndex];
    if (!file) throw new RangeError(`no file ${fileIndex}`);
    const to = Math.min(end, file.length);
    if (!Number.isSafeInteger(start) || start < 0 || start > to)
      throw new RangeError(`range ${start}-${end} of a ${file.length}-byte file`);
    const base = fileRange(manifest, fileIndex).start;
    const stream = new FileStream(this, manifest, base + start, base + to);
    this.#open.add(stream);
    return stream;
  }

  /** @internal a stream read (it is now the most urgent) or moved. */
  touched(stream: FileStream): void {
    this.#open.delete(stream);
    this.#open.add(stream);
    this.#updatePriority();
  }

  /** @internal a stream closed. */
  closed(stream: FileStream): void {
    if (this.#open.delete(stream)) this.#updatePriority();
  }

  get swarm(): StreamSwarm {
    return this.#swarm;
  }

  get store(): PieceStore {
    return this.#store;
  }

  #updatePriority(): void {
    if (this.#swarm.destroyed) return;
    const ranges: PieceRange[] = [];
    for (const s of this.#open) ranges.unshift(s.window());
    this.#swarm.setPriority(ranges.filter((r) => r.to > r.from));
  }

  /** Closes every stream. */
  destroy(): void {
    for (const s of [...this.#open]) s.close();
  }
}

export class FileStream {
  readonly #streams: FileStreams;
  readonly #pieceLength: number;
  readonly #pieceCount: number;
  /** Absolute offsets in the share (all files end to end). */
  #position: number;
  readonly #end: number;
  #closed = false;
  /** Wakes a read waiting for a piece (or for the close). */
  #wake: (() => void) | null = null;

  constructor(streams: FileStreams, manifest: Manifest, start: number, end: number) {
    this.#streams = streams;
    this.#pieceLength = manifest.pieceLength;
    this.#pieceCount = manifest.pieces.length;
    this.#position = start;
    this.#end = end;
  }

  /** Bytes left to read. */
  get remaining(): number {
    return this.#end - this.#position;
  }

  /** The pieces this stream wants first: from its position to the window's end (or the range's). */
  window(): PieceRange {
    if (this.#closed || this.#position >= this.#end) return { from: 0, to: 0 };
    const from = Math.floor(this.#position / this.#pieceLength);
    const last = Math.floor((Math.min(this.#end, this.#position + STREAM_WINDOW_BYTES) - 1) / this.#pieceLength);
    return { from, to: Math.min(last + 1, this.#pieceCount) };
  }

  /**
   * The next chunk, once its piece is verified; null at the end of the range, or once closed
   * (by {@link close}, or because the swarm closed). Reads are one at a time.
   */
  async next(): Promise<Uint8Array | null> {
    if (this.#closed || this.#position >= this.#end) return null;
    const swarm = this.#streams.swarm;
    const index = Math.floor(this.#position / this.#pieceLength);
    this.#streams.touched(this);
    if (!swarm.hasPiece(index)) {
      await new Promise<void>((resolve) => {
        const onPiece = (i: number) => {
          if (i === index) done();
        };
        const done = () => {
          swarm.off('piece', onPiece);
          swarm.off('close', done);
          this.#wake = null;
          resolve();
        };
        this.#wake = done;
        swarm.on('piece', onPiece);
        swarm.on('close', done);
        // It may have come in between the check and the listener (it cannot, in one turn; cheap to be sure).
        if (swarm.hasPiece(index)) done();
      });
      if (this.#closed || !swarm.hasPiece(index)) {
        this.close();
        return null;
      }
    }
    const pieceStart = index * this.#pieceLength;
    const length =
      Math.min(pieceStart + this.#pieceLength, this.#end, this.#position + STREAM_CHUNK_BYTES) - this.#position;
    const bytes = await this.#streams.store.read(index, this.#position - pieceStart, length);
    if (this.#closed) return null;
    this.#position += length;
    this.#streams.touched(this);
    return bytes;
  }

  /** Stops the stream (the player seeked elsewhere or went away); a waiting read returns null. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#streams.closed(this);
  }
}
