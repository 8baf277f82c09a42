/**
 * The swarm engine for one file set: talks the peer wire protocol with every connected
 * peer, fetches and verifies the manifest, requests blocks in parallel from all peers,
 * verifies each piece before storing or announcing it, and serves what it has.
 *
 * Transport-agnostic: a peer is anything that satisfies {@link FrameLink}.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { concatBytes, equalBytes, fromHex, sha256, sha256Hex } from '../util/bytes.js';
import { type Clock, systemClock, systemRandom } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import { Bitfield } from './bitfield.js';
import { CHOKE_INTERVAL_MS, chooseUnchoked, OPTIMISTIC_ROUNDS, UPLOAD_SLOTS } from './choker.js';
import { decodeManifest, encodeManifest, type Manifest, pieceCount, pieceSize } from './manifest.js';
import { PiecePicker } from './piece-picker.js';
import type { PieceStore } from './piece-store.js';
import { RateLimiter } from './rate-limiter.js';
import { RateMeter } from './rate-meter.js';
import {
  BLOCK_LENGTH,
  checkBlock,
  decodeMessage,
  encodeMessage,
  METADATA_CHUNK_LENGTH,
  WIRE_VERSION,
  type WireMessage,
} from './wire-codec.js';

/** Requests kept outstanding with one peer at least (blocks). */
export const PIPELINE_DEPTH = 32;
/** Most requests kept outstanding with one peer (blocks), on long, fast paths. */
export const MAX_PIPELINE = 256;

/** What the engine needs from a connection to one peer. */
export interface FrameLink {
  readonly remoteId: string;
  /** Sends one frame; returns false when the caller should wait for `drain`. */
  send(frame: Uint8Array): boolean;
  on(event: 'frame', listener: (frame: Uint8Array) => void): unknown;
  on(event: 'drain', listener: () => void): unknown;
  on(event: 'close', listener: (code?: string) => void): unknown;
  off(event: 'frame', listener: (frame: Uint8Array) => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
  off(event: 'close', listener: (code?: string) => void): unknown;
  /** Closes the connection, reporting `code` as the reason. */
  close(code?: string): void;
}

export interface SwarmStats {
  infoHash: string;
  /** Verified bytes held. */
  have: number;
  /** Total bytes, or null before the manifest is known. */
  length: number | null;
  piecesHave: number;
  pieceCount: number | null;
  /** Verified payload bytes received from peers. */
  downloaded: number;
  /** Payload bytes sent to peers. */
  uploaded: number;
  /** Verified bytes per second, over the last few seconds. */
  downloadRate: number;
  uploadRate: number;
  /** Seconds to completion at the current rate; null when unknown, 0 when done. */
  eta: number | null;
  peers: number;
  /** Connected peers that have every piece, and those that do not (null before the manifest). */
  seeders: number | null;
  leechers: number | null;
  /** True once every remaining block is requested and duplicates go to idle peers. */
  endgame: boolean;
  done: boolean;
}

export interface PeerStats {
  remoteId: string;
  uploaded: number;
  downloaded: number;
  uploadRate: number;
  downloadRate: number;
  /** Pieces the peer has, or null before its bitfield (or our manifest). */
  pieces: number | null;
  /** Requests outstanding to this peer. */
  inflight: number;
}

export type SwarmEvents = {
  metadata: [manifest: Manifest];
  piece: [index: number];
  progress: [stats: SwarmStats];
  done: [];
  /** A peer completed the handshake. */
  peer: [remoteId: string];
  /** A peer's link was closed; `code` says why when it was our decision or the link's error. */
  'peer-closed': [remoteId: string, code: string | undefined];
  /** Something a remote did wrong, handled by closing its link. */
  warning: [error: RingswarmError, remoteId: string];
  /** Local storage failed to read or write a piece (`ERR_STORAGE`). */
  error: [error: RingswarmError];
  close: [];
};

interface Block {
  index: number;
  begin: number;
  length: number;
}

interface Request extends Block {
  /** Clock reading when the request was sent. */
  sentAt: number;
}

interface Wire {
  link: FrameLink;
  handshaken: boolean;
  /** The remote's pieces, once both its bitfield and our manifest are known. */
  bits: Bitfield | null;
  /** A bitfield received before we had the manifest. */
  pendingBits: Uint8Array | null;
  pendingHaves: number[];
  /** True while the remote refuses our requests. */
  chokedByRemote: boolean;
  /** True while we refuse the remote's requests. */
  amChoking: boolean;
  /** The remote wants pieces from us. */
  peerInterested: boolean;
  /** We told the remote we want pieces from it. */
  amInterested: boolean;
  inflight: Map<string, Request>;
  uploads: Block[];
  uploading: boolean;
  waitingForDrain: boolean;
  uploaded: number;
  downloaded: number;
  uploadMeter: RateMeter;
  downloadMeter: RateMeter;
  /** Smallest request-to-block time seen, ms: the round trip without queueing. */
  minRtt: number;
  listeners: {
    frame: (frame: Uint8Array) => void;
    drain: () => void;
    close: (code?: string) => void;
  };
}

interface PartialPiece {
  data: Uint8Array;
  /** Offsets of blocks requested from some peer and not yet received. */
  requested: Set<number>;
  /** Offset of each received block -> the peer that sent it. */
  received: Map<number, string>;
  blocks: number;
  /** Set when the piece failed its hash check before: only this peer may fill it. */
  owner: string | null;
}

/** A piece that failed its hash check with blocks from several peers: who sent what. */
interface Suspect {
  data: Uint8Array;
  from: Map<number, string>;
}

interface MetadataFetch {
  from: string;
  total: number;
  chunks: Uint8Array[];
}

export interface SwarmDeps {
  /** This peer's ID (40 hex digits). */
  peerId: string;
  store: PieceStore;
  /** Default {@link systemClock}. */
  clock?: Clock;
  /** Uniform random number in [0, 1), for piece order. Default {@link systemRandom}. */
  random?: () => number;
  /** Limiters shared by every swarm of a client (global rate limits). */
  limits?: { upload?: RateLimiter; download?: RateLimiter };
}

/** Per-swarm byte rates; null = unlimited. */
export interface RateLimits {
  upload?: number | null;
  download?: number | null;
}

export interface SwarmOptions {
  infoHash: string;
  /** Known when seeding or resuming; otherwise fetched from peers. */
  manifest?: Manifest;
  /** Pieces already held and verified (all of them when seeding). */
  have?: Bitfield;
  /** Download pieces in order (for streaming). Default false: rarest first. */
  sequential?: boolean;
}

const blockKey = (index: number, begin: number) => `${index}:${begin}`;

export class Swarm extends Emitter<SwarmEvents> {
  readonly infoHash: string;
  readonly peerId: string;
  readonly store: PieceStore;
  #manifest: Manifest | null = null;
  #encodedManifest: Uint8Array | null = null;
  #have: Bitfield | null = null;
  /** Pieces to fetch (see {@link Swarm.setWanted}); null = all of them. */
  #wanted: Bitfield | null = null;
  /** Wanted pieces not held yet. */
  #wantedMissing = 0;
  #wires = new Map<string, Wire>();
  #partial = new Map<number, PartialPiece>();
  #metadata: MetadataFetch | null = null;
  /** Peers that said they have no manifest (until they announce pieces). */
  #metadataRefused = new Set<string>();
  /** Complete pieces whose hash is being checked: not to be requested again meanwhile. */
  #verifying = new Set<number>();
  #suspects = new Map<number, Suspect>();
  #banned = new Set<string>();
  #haveBytes = 0;
  #downloadMeter: RateMeter;
  #uploadMeter: RateMeter;
  #picker: PiecePicker | null = null;
  #sequential: boolean;
  #endgame = false;
  readonly #uploadLimit: RateLimiter;
  readonly #downloadLimit: RateLimiter;
  readonly #globalLimits: { upload?: RateLimiter; download?: RateLimiter };
  #timers = new Set<unknown>();
  #chokeTimer: unknown = null;
  #chokeRound = 0;
  #optimistic: string | null = null;
  #pumpScheduled = false;
  #requestScheduled = false;
  readonly #clock: Clock;
  readonly #random: () => number;
  #doneEmitted = false;
  #destroyed = false;

  constructor(deps: SwarmDeps, options: SwarmOptions) {
    super();
    this.peerId = deps.peerId;
    this.store = deps.store;
    this.infoHash = options.infoHash;
    this.#clock = deps.clock ?? systemClock;
    this.#random = deps.random ?? systemRandom;
    this.#sequential = options.sequential ?? false;
    const now = () => this.#clock.now();
    this.#downloadMeter = new RateMeter(now);
    this.#uploadMeter = new RateMeter(now);
    this.#uploadLimit = new RateLimiter(now);
    this.#downloadLimit = new RateLimiter(now);
    this.#globalLimits = deps.limits ?? {};
    if (options.manifest) this.#setManifest(options.manifest, options.have);
  }

  get manifest(): Manifest | null {
    return this.#manifest;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  get done(): boolean {
    return this.#have?.complete ?? false;
  }

  /** Bytes still missing, or null before the manifest is known. */
  get left(): number | null {
    if (!this.#manifest || !this.#have) return null;
    return this.#manifest.length - this.#haveBytes;
  }

  get peerIds(): string[] {
    return [...this.#wires.keys()];
  }

  stats(): SwarmStats {
    const downloadRate = this.#downloadMeter.rate();
    const left = this.left;
    let seeders: number | null = null;
    if (this.#manifest) {
      seeders = 0;
      for (const w of this.#wires.values()) if (w.bits?.complete) seeders++;
    }
    return {
      infoHash: this.infoHash,
      have: this.#haveBytes,
      length: this.#manifest?.length ?? null,
      piecesHave: this.#have?.count ?? 0,
      pieceCount: this.#manifest ? this.#manifest.pieces.length : null,
      downloaded: this.#downloadMeter.total,
      uploaded: this.#uploadMeter.total,
      downloadRate,
      uploadRate: this.#uploadMeter.rate(),
      eta: left === 0 ? 0 : left !== null && downloadRate > 0 ? left / downloadRate : null,
      peers: this.#wires.size,
      seeders,
      leechers: seeders === null ? null : this.#wires.size - seeders,
      endgame: this.#endgame,
      done: this.done,
    };
  }

  /** Per-peer byte counts and rates, both ways. */
  peerStats(): PeerStats[] {
    return [...this.#wires.values()].map((w) => ({
      remoteId: w.link.remoteId,
      uploaded: w.uploaded,
      downloaded: w.downloaded,
      uploadRate: w.uploadMeter.rate(),
      downloadRate: w.downloadMeter.rate(),
      pieces: w.bits?.count ?? null,
      inflight: w.inflight.size,
    }));
  }

  /** Sets this swarm's upload/download limits in bytes per second (null = unlimited). */
  setRateLimits(limits: RateLimits): void {
    if (limits.upload !== undefined) this.#uploadLimit.setRate(limits.upload);
    if (limits.download !== undefined) this.#downloadLimit.setRate(limits.download);
    this.#pumpAll();
    this.#requestAll();
  }

  get rateLimits(): { upload: number | null; download: number | null } {
    return { upload: this.#uploadLimit.rate, download: this.#downloadLimit.rate };
  }

  /**
   * Fetches only the pieces set in `wanted` (say, those of the files a person picked), or
   * every piece again with null. Pieces already held are kept and served; `done` still means
   * every piece. Needs the manifest.
   */
  setWanted(wanted: Bitfield | null): void {
    if (wanted && wanted.length !== this.#manifest?.pieces.length) {
      throw new RangeError('the wanted bitfield must match the manifest');
    }
    this.#wanted = wanted;
    this.#wantedMissing = 0;
    if (wanted) for (let i = 0; i < wanted.length; i++) if (wanted.has(i) && !this.#have?.has(i)) this.#wantedMissing++;
    for (const wire of this.#wires.values()) this.#updateInterest(wire);
    this.#requestAll();
  }

  /** True once every wanted piece is held (every piece, when nothing was left out). */
  get wantedDone(): boolean {
    if (!this.#have) return false;
    return this.#wanted ? this.#wantedMissing === 0 : this.#have.complete;
  }

  #isWanted(index: number): boolean {
    return this.#wanted?.has(index) ?? true;
  }

  /** Switches between in-order (streaming) and rarest-first piece order. */
  setSequential(sequential: boolean): void {
    this.#sequential = sequential;
    if (this.#picker) this.#picker.sequential = sequential;
  }

  /**
   * Starts the wire protocol on a connected link. `firstFrame` is a frame already read from
   * the link (the remote's handshake, when the remote opened the connection).
   */
  addLink(link: FrameLink, firstFrame?: Uint8Array): void {
    if (this.#destroyed) {
      link.close();
      return;
    }
    if (this.#banned.has(link.remoteId) || this.#wires.has(link.remoteId)) {
      link.close(this.#banned.has(link.remoteId) ? ErrorCode.BAD_PIECE : ErrorCode.BAD_HANDSHAKE);
      return;
    }
    const wire: Wire = {
      link,
      handshaken: false,
      bits: null,
      pendingBits: null,
      pendingHaves: [],
      chokedByRemote: true,
      amChoking: true,
      peerInterested: false,
      amInterested: false,
      inflight: new Map(),
      uploads: [],
      uploading: false,
      waitingForDrain: false,
      uploaded: 0,
      downloaded: 0,
      uploadMeter: new RateMeter(() => this.#clock.now()),
      downloadMeter: new RateMeter(() => this.#clock.now()),
      minRtt: Number.POSITIVE_INFINITY,
      listeners: {
        frame: (frame) => this.#onFrame(wire, frame),
        drain: () => {
          wire.waitingForDrain = false;
          void this.#pumpUploads(wire);
        },
        close: (code) => this.#removeWire(wire, code),
      },
    };
    this.#wires.set(link.remoteId, wire);
    this.#startChokeRounds();
    link.on('frame', wire.listeners.frame);
    link.on('drain', wire.listeners.drain);
    link.on('close', wire.listeners.close);
    this.#send(wire, { type: 'handshake', version: WIRE_VERSION, infoHash: this.infoHash, peerId: this.peerId });
    if (firstFrame) this.#onFrame(wire, firstFrame);
  }

  /** Stops talking to every peer and releases the store. Idempotent; emits `close` last. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    for (const wire of [...this.#wires.values()]) {
      this.#detach(wire);
      wire.link.close();
    }
    this.#wires.clear();
    this.#partial.clear();
    this.store.destroy();
    this.emit('close');
    this.removeAllListeners();
  }

  // --- inbound ---------------------------------------------------------------------------

  #onFrame(wire: Wire, frame: Uint8Array): void {
    if (this.#destroyed || !this.#wires.has(wire.link.remoteId)) return;
    let msg: WireMessage;
    try {
      msg = decodeMessage(frame);
      this.#handle(wire, msg);
    } catch (err) {
      if (err instanceof RingswarmError) this.#fail(wire, err);
      else throw err;
    }
  }

  #handle(wire: Wire, msg: WireMessage): void {
    if (!wire.handshaken && msg.type !== 'handshake') {
      throw new RingswarmError(ErrorCode.BAD_FRAME, `${msg.type} before handshake`);
    }
    switch (msg.type) {
      case 'handshake':
        this.#onHandshake(wire, msg);
        break;
      case 'bitfield':
        if (this.#manifest) {
          this.#setBits(wire, this.#parseBits(msg.bits));
          this.#updateInterest(wire);
          this.#requestMore(wire);
        } else {
          wire.pendingBits = msg.bits.slice();
          // A peer sends its bitfield once it has the manifest, even if it refused before.
          if (this.#metadataRefused.delete(wire.link.remoteId)) this.#fetchMetadata();
        }
        break;
      case 'have':
        this.#onHave(wire, msg.index);
        break;
      case 'unchoke':
        wire.chokedByRemote = false;
        this.#requestMore(wire);
        break;
      case 'choke':
        wire.chokedByRemote = true;
        this.#releaseInflight(wire);
        break;
      case 'interested':
      case 'not-interested':
        wire.peerInterested = msg.type === 'interested';
        this.#rechoke(false);
        break;
      case 'request':
        this.#onRequest(wire, msg);
        break;
      case 'cancel':
        wire.uploads = wire.uploads.filter(
          (b) => !(b.index === msg.index && b.begin === msg.begin && b.length === msg.length),
        );
        break;
      case 'piece':
        this.#onPiece(wire, msg.index, msg.begin, msg.data);
        break;
      case 'metadata-request':
        this.#onMetadataRequest(wire, msg.chunk);
        break;
      case 'metadata-data':
        this.#onMetadataData(wire, msg.chunk, msg.total, msg.data);
        break;
      case 'metadata-reject':
        this.#metadataRefused.add(wire.link.remoteId);
        if (this.#metadata?.from === wire.link.remoteId) {
          this.#metadata = null;
          this.#fetchMetadata();
        }
        break;
    }
  }

  #onHave(wire: Wire, index: number): void {
    if (!this.#manifest) {
      if (wire.pendingHaves.length < 1 << 16) wire.pendingHaves.push(index);
      return;
    }
    if (index >= this.#manifest.pieces.length) {
      throw new RingswarmError(ErrorCode.BAD_FRAME, `have ${index} out of range`);
    }
    if (!wire.bits) this.#setBits(wire, new Bitfield(this.#manifest.pieces.length));
    if (!wire.bits!.has(index)) {
      wire.bits!.set(index);
      this.#picker?.addHave(index);
      if (!wire.amInterested && this.#have && !this.#have.has(index) && this.#isWanted(index)) {
        this.#setInterested(wire, true);
      }
    }
    this.#requestMore(wire);
  }

  /** Replaces a peer's bitfield, keeping piece availability in step. */
  #setBits(wire: Wire, bits: Bitfield | null): void {
    if (wire.bits) this.#picker?.addBitfield(wire.bits, -1);
    wire.bits = bits;
    if (bits) this.#picker?.addBitfield(bits, 1);
  }

  #onHandshake(wire: Wire, msg: Extract<WireMessage, { type: 'handshake' }>): void {
    if (wire.handshaken) throw new RingswarmError(ErrorCode.BAD_FRAME, 'second handshake');
    if (msg.version !== WIRE_VERSION) {
      throw new RingswarmError(ErrorCode.BAD_HANDSHAKE, `wire version ${msg.version}, want ${WIRE_VERSION}`);
    }
    if (msg.infoHash !== this.infoHash)
      throw new RingswarmError(ErrorCode.BAD_HANDSHAKE, 'handshake for another swarm');
    if (msg.peerId !== wire.link.remoteId) {
      throw new RingswarmError(ErrorCode.BAD_HANDSHAKE, 'handshake peer ID differs from the signaled one');
    }
    wire.handshaken = true;
    this.emit('peer', wire.link.remoteId);
    if (this.#manifest && this.#have) {
      this.#send(wire, { type: 'bitfield', bits: this.#have.bytes });
    }
    if (!this.#manifest) this.#fetchMetadata();
  }

  #parseBits(bytes: Uint8Array): Bitfield {
    try {
      return new Bitfield(this.#manifest?.pieces.length ?? 0, bytes);
    } catch (err) {
      throw new RingswarmError(ErrorCode.BAD_FRAME, (err as Error).message);
    }
  }

  #onRequest(wire: Wire, block: Block): void {
    if (!this.#manifest || !this.#have) return;
    checkBlock(this.#manifest, block.index, block.begin, block.length);
    // A choked peer's requests are dropped (it was told); so are requests for pieces we lack.
    if (wire.amChoking || !this.#have.has(block.index)) return;
    if (wire.uploads.length >= PIPELINE_DEPTH * 8) {
      throw new RingswarmError(ErrorCode.BAD_FRAME, 'too many outstanding requests');
    }
    wire.uploads.push({ index: block.index, begin: block.begin, length: block.length });
    void this.#pumpUploads(wire);
  }

  async #pumpUploads(wire: Wire): Promise<void> {
    if (wire.uploading) return;
    wire.uploading = true;
    try {
      while (!this.#destroyed && !wire.waitingForDrain && this.#wires.get(wire.link.remoteId) === wire) {
        if (wire.uploads.length === 0) break;
        const wait = Math.max(this.#uploadLimit.delay(), this.#globalLimits.upload?.delay() ?? 0);
        if (wait > 0) {
          this.#schedulePump(wait);
          break;
        }
        const block = wire.uploads.shift()!;
        let data: Uint8Array;
        try {
          data = await this.store.read(block.index, block.begin, block.length);
        } catch (err) {
          this.#storageError(`reading piece ${block.index}`, err);
          continue;
        }
        if (this.#destroyed || this.#wires.get(wire.link.remoteId) !== wire) break;
        wire.uploaded += data.length;
        wire.uploadMeter.add(data.length);
        this.#uploadMeter.add(data.length);
        this.#uploadLimit.reserve(data.length);
        this.#globalLimits.upload?.reserve(data.length);
        if (!this.#send(wire, { type: 'piece', index: block.index, begin: block.begin, data })) {
          wire.waitingForDrain = true;
        }
      }
    } finally {
      wire.uploading = false;
    }
  }

  #onPiece(wire: Wire, index: number, begin: number, data: Uint8Array): void {
    if (!this.#manifest) throw new RingswarmError(ErrorCode.BAD_FRAME, 'piece before manifest');
    checkBlock(this.#manifest, index, begin, data.length);
    const key = blockKey(index, begin);
    const block = wire.inflight.get(key);
    // A block we did not ask this peer for (or cancelled) is dropped, not stored.
    if (!block || block.length !== data.length) return;
    wire.inflight.delete(key);
    wire.minRtt = Math.min(wire.minRtt, this.#clock.now() - block.sentAt);
    wire.downloadMeter.add(data.length);
    // Endgame: the same block was asked of others too; tell them not to bother.
    for (const other of this.#wires.values()) {
      if (other !== wire && other.inflight.delete(key)) {
        this.#send(other, { type: 'cancel', index, begin, length: block.length });
      }
    }
    const partial = this.#partial.get(index);
    if (!partial || partial.received.has(begin)) {
      this.#requestMore(wire);
      return;
    }
    partial.requested.delete(begin);
    partial.received.set(begin, wire.link.remoteId);
    partial.data.set(data, begin);
    wire.downloaded += data.length;
    if (partial.received.size === partial.blocks) {
      this.#partial.delete(index);
      this.#verifying.add(index);
      void this.#verifyAndStore(index, partial);
    }
    this.#requestMore(wire);
  }

  /** Checks a complete piece and stores it; the piece stays in #verifying until then. */
  async #verifyAndStore(index: number, partial: PartialPiece): Promise<void> {
    const manifest = this.#manifest;
    if (!manifest || !this.#have) return;
    const hash = await sha256Hex(partial.data);
    if (this.#destroyed) return;
    if (hash !== manifest.pieces[index]) {
      this.#verifying.delete(index);
      this.#onBadPiece(index, partial);
      this.#requestAll();
      return;
    }
    this.#banLiars(index, partial.data);
    try {
      await this.store.write(index, partial.data);
    } catch (err) {
      this.#verifying.delete(index);
      this.#storageError(`storing piece ${index}`, err);
      return;
    }
    this.#verifying.delete(index);
    if (this.#destroyed || this.#have.has(index)) return;
    this.#have.set(index);
    const lastWanted = this.#wanted?.has(index) === true && --this.#wantedMissing === 0;
    this.#haveBytes += partial.data.length;
    this.#downloadMeter.add(partial.data.length);
    for (const other of this.#wires.values()) {
      if (other.handshaken) this.#send(other, { type: 'have', index });
    }
    this.emit('piece', index);
    this.emit('progress', this.stats());
    if (lastWanted && !this.#have.complete) {
      for (const w of this.#wires.values()) this.#setInterested(w, false);
    }
    if (this.#have.complete && !this.#doneEmitted) {
      this.#doneEmitted = true;
      for (const w of this.#wires.values()) this.#setInterested(w, false);
      this.emit('done');
    }
  }

  /**
   * A piece failed its hash check. From a single peer: that peer lied, ban it. From
   * several: we cannot tell which block was bad, so the piece is fetched again from one
   * peer only, and once it verifies, whoever sent a block that differs is banned
   * (banning every contributor would let one liar get honest peers banned).
   */
  #onBadPiece(index: number, partial: PartialPiece): void {
    const senders = new Set(partial.received.values());
    if (senders.size === 1) {
      const [liar] = senders as Set<string>;
      this.#ban(liar!, `piece ${index} failed its hash check`);
      return;
    }
    if (!this.#suspects.has(index)) this.#suspects.set(index, { data: partial.data, from: partial.received });
    this.emit(
      'warning',
      new RingswarmError(ErrorCode.BAD_PIECE, `piece ${index} failed its hash check`),
      [...senders].join(','),
    );
  }

  /** After a suspect piece verified: bans the peers whose earlier blocks differ from it. */
  #banLiars(index: number, good: Uint8Array): void {
    const suspect = this.#suspects.get(index);
    if (!suspect) return;
    this.#suspects.delete(index);
    for (const [begin, remoteId] of suspect.from) {
      const end = Math.min(begin + BLOCK_LENGTH, good.length);
      if (!equalBytes(suspect.data.subarray(begin, end), good.subarray(begin, end))) {
        this.#ban(remoteId, `sent a bad block of piece ${index}`);
      }
    }
  }

  #ban(remoteId: string, message: string): void {
    this.#banned.add(remoteId);
    const wire = this.#wires.get(remoteId);
    if (wire) this.#fail(wire, new RingswarmError(ErrorCode.BAD_PIECE, message));
  }

  #storageError(what: string, err: unknown): void {
    if (this.#destroyed) return;
    this.emit('error', new RingswarmError(ErrorCode.STORAGE, `${what} failed: ${(err as Error)?.message ?? err}`));
  }

  // --- metadata --------------------------------------------------------------------------

  #onMetadataRequest(wire: Wire, chunk: number): void {
    const encoded = this.#encodedManifest;
    const total = encoded?.length ?? 0;
    if (!encoded || chunk * METADATA_CHUNK_LENGTH >= total) {
      this.#send(wire, { type: 'metadata-reject', chunk });
      return;
    }
    const begin = chunk * METADATA_CHUNK_LENGTH;
    const data = encoded.subarray(begin, Math.min(total, begin + METADATA_CHUNK_LENGTH));
    this.#send(wire, { type: 'metadata-data', chunk, total, data });
  }

  #fetchMetadata(): void {
    if (this.#manifest || this.#metadata) return;
    const wire = [...this.#wires.values()].find((w) => w.handshaken && !this.#metadataRefused.has(w.link.remoteId));
    if (!wire) return;
    this.#metadata = { from: wire.link.remoteId, total: 0, chunks: [] };
    this.#send(wire, { type: 'metadata-request', chunk: 0 });
  }

  #onMetadataData(wire: Wire, chunk: number, total: number, data: Uint8Array): void {
    const fetch = this.#metadata;
    if (this.#manifest || !fetch || fetch.from !== wire.link.remoteId) return;
    if (chunk !== fetch.chunks.length || (fetch.total !== 0 && fetch.total !== total)) {
      throw new RingswarmError(ErrorCode.BAD_METADATA, `unexpected metadata chunk ${chunk}`);
    }
    fetch.total = total;
    fetch.chunks.push(data.slice());
    if (fetch.chunks.length * METADATA_CHUNK_LENGTH < total) {
      this.#send(wire, { type: 'metadata-request', chunk: fetch.chunks.length });
      return;
    }
    void this.#finishMetadata(wire, concatBytes(fetch.chunks));
  }

  async #finishMetadata(wire: Wire, encoded: Uint8Array): Promise<void> {
    const digest = await sha256(encoded);
    if (this.#destroyed || this.#manifest) return;
    this.#metadata = null;
    let manifest: Manifest;
    try {
      if (!equalBytes(digest, fromHex(this.infoHash))) {
        throw new RingswarmError(ErrorCode.BAD_METADATA, 'manifest does not match the infohash');
      }
      manifest = decodeManifest(encoded);
    } catch (err) {
      const error =
        err instanceof RingswarmError
          ? err
          : new RingswarmError(ErrorCode.BAD_METADATA, String((err as Error)?.message));
      this.#banned.add(wire.link.remoteId);
      this.#fail(wire, error);
      this.#fetchMetadata();
      return;
    }
    this.#setManifest(manifest);
  }

  #setManifest(manifest: Manifest, have?: Bitfield): void {
    const count = pieceCount(manifest.length, manifest.pieceLength);
    if (have && have.length !== count) throw new RangeError('have bitfield does not match the manifest');
    this.#manifest = manifest;
    this.#encodedManifest = encodeManifest(manifest);
    this.#have = have ?? new Bitfield(count);
    this.#haveBytes = 0;
    for (let i = 0; i < count; i++) if (this.#have.has(i)) this.#haveBytes += pieceSize(manifest, i);
    this.#picker = new PiecePicker(count, { random: this.#random, sequential: this.#sequential });
    this.emit('metadata', manifest);
    for (const wire of this.#wires.values()) {
      if (!wire.handshaken) continue;
      this.#send(wire, { type: 'bitfield', bits: this.#have.bytes });
      try {
        const bits = wire.pendingBits ? this.#parseBits(wire.pendingBits) : new Bitfield(count);
        for (const index of wire.pendingHaves) {
          if (index >= count) throw new RingswarmError(ErrorCode.BAD_FRAME, `have ${index} out of range`);
          bits.set(index);
        }
        this.#setBits(wire, bits);
        this.#updateInterest(wire);
      } catch (err) {
        if (err instanceof RingswarmError) this.#fail(wire, err);
        continue;
      }
      wire.pendingBits = null;
      wire.pendingHaves = [];
    }
    this.emit('progress', this.stats());
    if (this.#have.complete && !this.#doneEmitted) {
      this.#doneEmitted = true;
      this.emit('done');
    }
    this.#requestAll();
  }

  // --- requesting ------------------------------------------------------------------------

  #requestAll(): void {
    for (const wire of this.#wires.values()) this.#requestMore(wire);
  }

  /** Fills this peer's request pipeline with blocks it has and nobody else is fetching. */
  #requestMore(wire: Wire): void {
    const manifest = this.#manifest;
    const have = this.#have;
    if (!manifest || !have || have.complete || wire.chokedByRemote || !wire.bits) return;
    const window = this.#window(wire);
    while (wire.inflight.size < window) {
      const wait = Math.max(this.#downloadLimit.delay(), this.#globalLimits.download?.delay() ?? 0);
      if (wait > 0) {
        this.#scheduleRequests(wait);
        return;
      }
      const block = this.#nextBlock(wire, wire.bits, manifest, have);
      if (!block) break;
      wire.inflight.set(blockKey(block.index, block.begin), { ...block, sentAt: this.#clock.now() });
      this.#send(wire, { type: 'request', ...block });
      this.#downloadLimit.reserve(block.length);
      this.#globalLimits.download?.reserve(block.length);
    }
  }

  /**
   * Requests to keep outstanding with a peer: twice its bandwidth-delay product (measured
   * rate times the smallest round trip seen), so a long, fast path (a TURN relay across a
   * continent) stays full. Never below {@link PIPELINE_DEPTH}: a window-limited rate would
   * otherwise shrink its own estimate. At most {@link MAX_PIPELINE}.
   */
  #window(wire: Wire): number {
    const rate = wire.downloadMeter.rate();
    if (!Number.isFinite(wire.minRtt) || rate === 0) return PIPELINE_DEPTH;
    const bdpBlocks = (rate * (wire.minRtt / 1000)) / BLOCK_LENGTH;
    return Math.max(PIPELINE_DEPTH, Math.min(MAX_PIPELINE, Math.ceil(2 * bdpBlocks)));
  }

  #nextBlock(wire: Wire, remote: Bitfield, manifest: Manifest, have: Bitfield): Block | null {
    const remoteId = wire.link.remoteId;
    // Finish pieces already started before starting new ones.
    for (const [index, partial] of this.#partial) {
      if (!remote.has(index) || (partial.owner !== null && partial.owner !== remoteId)) continue;
      const block = this.#unrequestedBlock(manifest, index, partial);
      if (block) return block;
    }
    const index =
      this.#picker?.pick(
        remote,
        (i) => !have.has(i) && !this.#partial.has(i) && !this.#verifying.has(i) && this.#isWanted(i),
        have.count,
      ) ?? -1;
    if (index >= 0) {
      const size = pieceSize(manifest, index);
      const partial: PartialPiece = {
        data: new Uint8Array(size),
        requested: new Set(),
        received: new Map(),
        blocks: Math.ceil(size / BLOCK_LENGTH),
        owner: this.#suspects.has(index) ? remoteId : null,
      };
      this.#partial.set(index, partial);
      return this.#unrequestedBlock(manifest, index, partial);
    }
    return this.#endgameBlock(wire, remote, manifest);
  }

  /**
   * Endgame: every missing block is already asked of some peer. An idle peer that has one
   * asks for it too; whichever copy arrives first wins and the others are cancelled.
   */
  #endgameBlock(wire: Wire, remote: Bitfield, manifest: Manifest): Block | null {
    for (const [index, partial] of this.#partial) {
      if (!remote.has(index) || partial.owner !== null) continue;
      const size = pieceSize(manifest, index);
      for (let begin = 0; begin < size; begin += BLOCK_LENGTH) {
        if (partial.received.has(begin) || wire.inflight.has(blockKey(index, begin))) continue;
        this.#endgame = true;
        return { index, begin, length: Math.min(BLOCK_LENGTH, size - begin) };
      }
    }
    return null;
  }

  #unrequestedBlock(manifest: Manifest, index: number, partial: PartialPiece): Block | null {
    const size = pieceSize(manifest, index);
    for (let begin = 0; begin < size; begin += BLOCK_LENGTH) {
      if (partial.requested.has(begin) || partial.received.has(begin)) continue;
      partial.requested.add(begin);
      return { index, begin, length: Math.min(BLOCK_LENGTH, size - begin) };
    }
    return null;
  }

  #releaseInflight(wire: Wire): void {
    for (const block of wire.inflight.values()) this.#partial.get(block.index)?.requested.delete(block.begin);
    wire.inflight.clear();
    for (const [index, partial] of this.#partial) {
      if (partial.owner === wire.link.remoteId) this.#partial.delete(index);
    }
  }

  // --- choking and interest ------------------------------------------------------------

  /** Tells a peer whether we want anything it has (only on change). */
  #setInterested(wire: Wire, interested: boolean): void {
    if (wire.amInterested === interested || !wire.handshaken) return;
    wire.amInterested = interested;
    this.#send(wire, { type: interested ? 'interested' : 'not-interested' });
  }

  #updateInterest(wire: Wire): void {
    const have = this.#have;
    const bits = wire.bits;
    if (!have || !bits) return;
    let wanted = false;
    if (!have.complete) {
      for (let i = 0; i < bits.length && !wanted; i++) wanted = bits.has(i) && !have.has(i) && this.#isWanted(i);
    }
    this.#setInterested(wire, wanted);
  }

  #startChokeRounds(): void {
    if (this.#chokeTimer !== null || this.#destroyed) return;
    const round = () => {
      this.#timers.delete(this.#chokeTimer);
      this.#chokeTimer = null;
      if (this.#destroyed || this.#wires.size === 0) return;
      this.#rechoke(true);
      this.#chokeTimer = this.#later(CHOKE_INTERVAL_MS, round);
    };
    this.#chokeTimer = this.#later(CHOKE_INTERVAL_MS, round);
  }

  /**
   * Recomputes who we upload to. Runs every {@link CHOKE_INTERVAL_MS} (a full round, which
   * may rotate the optimistic slot) and when a peer's interest changes or it leaves.
   */
  #rechoke(fullRound: boolean): void {
    if (this.#destroyed) return;
    if (fullRound && ++this.#chokeRound % OPTIMISTIC_ROUNDS === 0) this.#optimistic = null;
    const peers = [...this.#wires.values()]
      .filter((w) => w.handshaken)
      .map((w) => ({
        id: w.link.remoteId,
        interested: w.peerInterested,
        downloadRate: w.downloadMeter.rate(),
        uploadRate: w.uploadMeter.rate(),
      }));
    const { unchoked, optimistic } = chooseUnchoked(peers, this.done, UPLOAD_SLOTS, this.#optimistic, (eligible) =>
      eligible.length === 0 ? null : eligible[Math.floor(this.#random() * eligible.length)]!,
    );
    this.#optimistic = optimistic;
    for (const wire of this.#wires.values()) {
      if (!wire.handshaken) continue;
      const choke = !unchoked.has(wire.link.remoteId);
      if (choke === wire.amChoking) continue;
      wire.amChoking = choke;
      if (choke) wire.uploads = [];
      this.#send(wire, { type: choke ? 'choke' : 'unchoke' });
    }
  }

  // --- timers ------------------------------------------------------------------------------

  #later(ms: number, fn: () => void): unknown {
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#destroyed) fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #schedulePump(ms: number): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    this.#later(ms, () => {
      this.#pumpScheduled = false;
      this.#pumpAll();
    });
  }

  #scheduleRequests(ms: number): void {
    if (this.#requestScheduled) return;
    this.#requestScheduled = true;
    this.#later(ms, () => {
      this.#requestScheduled = false;
      this.#requestAll();
    });
  }

  #pumpAll(): void {
    for (const wire of this.#wires.values()) void this.#pumpUploads(wire);
  }

  // --- plumbing --------------------------------------------------------------------------

  #send(wire: Wire, msg: WireMessage): boolean {
    return wire.link.send(encodeMessage(msg));
  }

  #fail(wire: Wire, error: RingswarmError): void {
    this.emit('warning', error, wire.link.remoteId);
    this.#removeWire(wire, error.code);
    wire.link.close(error.code);
  }

  #detach(wire: Wire): void {
    wire.link.off('frame', wire.listeners.frame);
    wire.link.off('drain', wire.listeners.drain);
    wire.link.off('close', wire.listeners.close);
  }

  #removeWire(wire: Wire, code: string | undefined): void {
    if (this.#wires.get(wire.link.remoteId) !== wire) return;
    this.#wires.delete(wire.link.remoteId);
    this.#detach(wire);
    this.#setBits(wire, null);
    this.#releaseInflight(wire);
    if (this.#metadata?.from === wire.link.remoteId) this.#metadata = null;
    this.emit('peer-closed', wire.link.remoteId, code);
    if (this.#destroyed) return;
    if (!wire.amChoking) this.#rechoke(false);
    this.#fetchMetadata();
    this.#requestAll();
  }
}
