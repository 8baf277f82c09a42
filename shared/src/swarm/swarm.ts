/**
 * The swarm engine for one file set: talks the peer wire protocol with every connected
 * peer, fetches and verifies the manifest, requests blocks in parallel from all peers,
 * verifies each piece before storing or announcing it, and serves what it has.
 *
 * This file is the facade: what the swarm holds (manifest, pieces, peers), its events and
 * stats, and the wiring between its parts, one concept per file:
 * - {@link PeerWire} (peer-wire.ts): one peer's protocol state and the dispatch of its messages
 * - `CapabilityHandshake` (capability-handshake.ts): each link's nonces and proofs; a
 *   peer that cannot prove it holds the infohash hears nothing of the swarm
 * - {@link MetadataExchange} (metadata-exchange.ts): fetching and serving the manifest
 * - {@link BlockScheduler} (block-scheduler.ts): what to request from whom, endgame, the window
 * - {@link PieceVerifier} (piece-verifier.ts): hash checks, suspects and liar bans
 * - {@link Uploader} (uploader.ts): serving requests within the upload limits
 * - {@link ChokeRounds} (choker.ts): who we upload to
 *
 * A peer that lets a request time out (a manifest chunk, {@link METADATA_REQUEST_TIMEOUT_MS},
 * or its blocks, {@link BLOCK_REQUEST_TIMEOUT_MS}) is snubbed: nothing more is asked of it
 * until it answers something it was asked (or chokes us, which drops what we asked), what it
 * held is asked of others, and a suspect piece only it was allowed to re-fetch is freed. So a
 * silent peer costs a download one timeout at most.
 *
 * Transport-agnostic: a peer is anything that satisfies {@link FrameLink}.
 */

import { CAPABILITY_NONCE_BYTES, discoveryKeyOf } from '../protocol/capability.js';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { randomBytes } from '../util/bytes.js';
import { type Clock, systemClock, systemRandom } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import { Bitfield } from './bitfield.js';
import { BLOCK_REQUEST_TIMEOUT_MS, BlockScheduler, type PartialPiece } from './block-scheduler.js';
import { ChokeRounds } from './choker.js';
import { heldBytes, type Manifest, pieceCount } from './manifest.js';
import { METADATA_REQUEST_TIMEOUT_MS, MetadataExchange } from './metadata-exchange.js';
import { type FrameLink, PeerWire, type PeerWireHandlers } from './peer-wire.js';
import { PiecePicker, type PieceRange } from './piece-picker.js';
import type { PieceStore } from './piece-store.js';
import { PieceVerifier } from './piece-verifier.js';
import type { RateLimiter } from './rate-limiter.js';
import { RateMeter } from './rate-meter.js';
import { Uploader } from './uploader.js';

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
  /** Connected peers that proved they hold the infohash (a link still at its handshake is not one). */
  peers: number;
  /** Connected peers that have every piece, and those that do not (null before the manifest). */
  seeders: number | null;
  leechers: number | null;
  /** True once every remaining block is requested and duplicates go to idle peers. */
  endgame: boolean;
  done: boolean;
  /** Links closed because the remote could not prove it holds the infohash (`ERR_CAPABILITY`). */
  refused: number;
  /** Times a peer was snubbed for letting a request time out (`ERR_PEER_TIMEOUT`). */
  snubbed: number;
  /** Manifest requests dropped because the same peer already had one waiting to be served. */
  metadataDropped: number;
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
  /** True while the peer is snubbed (it let a request time out and has not answered since). */
  snubbed: boolean;
}

export type SwarmEvents = {
  metadata: [manifest: Manifest];
  piece: [index: number];
  progress: [stats: SwarmStats];
  done: [];
  /** A peer completed the handshake and proved it holds the infohash. */
  peer: [remoteId: string];
  /** A peer's link was closed; `code` says why when it was our decision or the link's error. */
  'peer-closed': [remoteId: string, code: string | undefined];
  /**
   * Something a remote did wrong, handled by closing its link; or, with `ERR_PEER_TIMEOUT`
   * (once per connection), a peer snubbed for letting a request time out.
   */
  warning: [error: RingswarmError, remoteId: string];
  /** Local storage failed to read or write a piece (`ERR_STORAGE`). */
  error: [error: RingswarmError];
  close: [];
};

export interface SwarmDeps {
  /** This peer's ID (40 hex digits). */
  peerId: string;
  store: PieceStore;
  /** Default {@link systemClock}. */
  clock?: Clock;
  /** Uniform random number in [0, 1), for piece order. Default {@link systemRandom}. */
  random?: () => number;
  /**
   * Unpredictable bytes, for the fresh nonce of each link's handshake. Default the platform
   * CSPRNG ({@link randomBytes}); it must never repeat an output.
   */
  randomBytes?: (length: number) => Uint8Array;
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

export class Swarm extends Emitter<SwarmEvents> {
  /** The read capability (from the link); it never leaves this peer except inside proofs. */
  readonly infoHash: string;
  /** What the network sees of this swarm ({@link discoveryKeyOf}). */
  readonly discoveryKey: string;
  readonly peerId: string;
  readonly store: PieceStore;
  readonly #deps: { clock: Clock; random: () => number };
  readonly #randomBytes: (length: number) => Uint8Array;
  /** Links refused at the capability check. */
  #refused = 0;
  /** Snubs, counted as they happen. */
  #snubs = 0;
  #manifest: Manifest | null = null;
  #have: Bitfield | null = null;
  /** Pieces to fetch (see {@link Swarm.setWanted}); null = all of them. */
  #wanted: Bitfield | null = null;
  readonly #wires = new Map<string, PeerWire>();
  #picker: PiecePicker | null = null;
  #sequential: boolean;
  /** Ranges fetched before all others (see {@link Swarm.setPriority}). */
  #priority: readonly PieceRange[] = [];
  /** Verified piece bytes received. */
  readonly #downloadMeter: RateMeter;
  readonly #metadata: MetadataExchange;
  readonly #scheduler: BlockScheduler;
  readonly #verifier: PieceVerifier;
  readonly #uploader: Uploader;
  readonly #choker: ChokeRounds;
  readonly #handlers: PeerWireHandlers;
  #doneEmitted = false;
  #destroyed = false;

  constructor(deps: SwarmDeps, options: SwarmOptions) {
    super();
    this.peerId = deps.peerId;
    this.store = deps.store;
    this.infoHash = options.infoHash;
    this.discoveryKey = discoveryKeyOf(options.infoHash);
    this.#deps = { clock: deps.clock ?? systemClock, random: deps.random ?? systemRandom };
    this.#randomBytes = deps.randomBytes ?? randomBytes;
    this.#sequential = options.sequential ?? false;
    this.#downloadMeter = new RateMeter(() => this.#deps.clock.now());
    const shared = deps.limits ?? {};
    this.#uploader = new Uploader(this.#deps, this.store, this.#wires, () => shared.upload, {
      readFailed: (what, err) => this.#storageError(what, err),
      metadataChunk: (chunk) => this.#metadata.chunk(chunk),
      seeding: () => this.#have?.complete === true,
    });
    this.#scheduler = new BlockScheduler(this.#deps, this.#wires, () => shared.download, {
      mayStart: (i) => !this.#have?.has(i) && !this.#verifier.isVerifying(i) && this.#isWanted(i),
      isSuspect: (i) => this.#verifier.isSuspect(i),
      complete: (index, piece) => void this.#verifyAndStore(index, piece),
      timedOut: (wire) => this.#snub(wire, `no block in ${BLOCK_REQUEST_TIMEOUT_MS} ms`),
      answered: (wire) => this.#unsnub(wire),
    });
    this.#verifier = new PieceVerifier({
      banned: (remoteId, message) => {
        const wire = this.#wires.get(remoteId);
        if (wire) this.#fail(wire, new RingswarmError(ErrorCode.BAD_PIECE, message));
      },
      warning: (error, remoteIds) => this.emit('warning', error, remoteIds),
    });
    this.#metadata = new MetadataExchange(
      this.infoHash,
      this.#wires,
      {
        fetched: (manifest) => this.#setManifest(manifest),
        refused: (wire, error) => {
          this.#verifier.ban(wire.remoteId);
          this.#fail(wire, error);
        },
        timedOut: (wire) => this.#snub(wire, `no manifest chunk in ${METADATA_REQUEST_TIMEOUT_MS} ms`),
        answered: (wire) => this.#unsnub(wire),
        wanted: (wire) => {
          // A choked peer's request counts as interest: a free slot unchokes it (and pumps it) now.
          if (wire.amChoking) this.#choker.rechoke(false);
          void this.#uploader.pump(wire);
        },
      },
      this.#deps,
    );
    this.#choker = new ChokeRounds(
      this.#deps,
      this.#wires,
      () => this.done,
      (wire) => void this.#uploader.pump(wire),
    );
    this.#handlers = this.#wireHandlers();
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
    return this.#manifest.length - heldBytes(this.#manifest, this.#have);
  }

  get peerIds(): string[] {
    return [...this.#wires.keys()];
  }

  stats(): SwarmStats {
    const downloadRate = this.#downloadMeter.rate();
    const left = this.left;
    let peers = 0;
    for (const w of this.#wires.values()) if (w.handshaken) peers++;
    let seeders: number | null = null;
    if (this.#manifest) {
      seeders = 0;
      for (const w of this.#wires.values()) if (w.bits?.complete) seeders++;
    }
    return {
      infoHash: this.infoHash,
      have: this.#manifest && this.#have ? heldBytes(this.#manifest, this.#have) : 0,
      length: this.#manifest?.length ?? null,
      piecesHave: this.#have?.count ?? 0,
      pieceCount: this.#manifest ? this.#manifest.pieces.length : null,
      downloaded: this.#downloadMeter.total,
      uploaded: this.#uploader.meter.total,
      downloadRate,
      uploadRate: this.#uploader.meter.rate(),
      eta: left === 0 ? 0 : left !== null && downloadRate > 0 ? left / downloadRate : null,
      peers,
      seeders,
      leechers: seeders === null ? null : peers - seeders,
      endgame: this.#scheduler.endgame,
      done: this.done,
      refused: this.#refused,
      snubbed: this.#snubs,
      metadataDropped: this.#metadata.dropped,
    };
  }

  /** Per-peer byte counts and rates, both ways, of the peers that proved the capability. */
  peerStats(): PeerStats[] {
    return [...this.#wires.values()]
      .filter((w) => w.handshaken)
      .map((w) => ({
        remoteId: w.remoteId,
        uploaded: w.uploadMeter.total,
        downloaded: w.downloaded,
        uploadRate: w.uploadMeter.rate(),
        downloadRate: w.downloadMeter.rate(),
        pieces: w.bits?.count ?? null,
        inflight: w.inflight.size,
        snubbed: w.snubbed,
      }));
  }

  /** Sets this swarm's upload/download limits in bytes per second (null = unlimited). */
  setRateLimits(limits: RateLimits): void {
    if (limits.upload !== undefined) this.#uploader.limit.setRate(limits.upload);
    if (limits.download !== undefined) this.#scheduler.limit.setRate(limits.download);
    this.#uploader.pumpAll();
    this.#scheduler.requestAll();
  }

  get rateLimits(): { upload: number | null; download: number | null } {
    return { upload: this.#uploader.limit.rate, download: this.#scheduler.limit.rate };
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
    for (const wire of this.#wires.values()) this.#updateInterest(wire);
    this.#scheduler.requestAll();
  }

  /** True once every wanted piece is held (every piece, when nothing was left out). */
  get wantedDone(): boolean {
    if (!this.#have) return false;
    return this.#wanted ? this.#holdsAll(this.#wanted) : this.#have.complete;
  }

  /** Every piece set in `wanted` is held; read from the two bitfields, never kept apart. */
  #holdsAll(wanted: Bitfield): boolean {
    const have = this.#have;
    if (!have || have.length !== wanted.length) return false;
    for (let i = 0; i < wanted.bytes.length; i++) {
      if (((wanted.bytes[i] ?? 0) & ~(have.bytes[i] ?? 0)) !== 0) return false;
    }
    return true;
  }

  /**
   * Counts as held the pieces set in `pieces`, which the caller found already stored and
   * verified after the manifest arrived (files that were on disk before, checked by hash):
   * they are announced to peers and not fetched. Needs the manifest.
   */
  addHeld(pieces: Bitfield): void {
    const have = this.#have;
    if (this.#destroyed || !have) return;
    if (pieces.length !== have.length) throw new RangeError('the bitfield must match the manifest');
    for (let i = 0; i < pieces.length; i++) {
      if (!pieces.has(i) || have.has(i)) continue;
      have.set(i);
      for (const wire of this.#wires.values()) if (wire.handshaken) wire.send({ type: 'have', index: i });
    }
    for (const wire of this.#wires.values()) this.#updateInterest(wire);
    this.emit('progress', this.stats());
    this.#checkDone();
  }

  /**
   * Fetches the pieces in `ranges` before all others, most urgent range first (what players
   * need next: file-stream.ts); an empty list goes back to rarest first.
   */
  setPriority(ranges: readonly PieceRange[]): void {
    this.#priority = ranges;
    if (!this.#picker) return;
    this.#picker.setPriority(ranges);
    this.#scheduler.prioritize();
  }

  /** True once piece `index` is verified and stored here. */
  hasPiece(index: number): boolean {
    return this.#have?.has(index) ?? false;
  }

  /** Switches between in-order and rarest-first piece order. */
  setSequential(sequential: boolean): void {
    this.#sequential = sequential;
    if (this.#picker) this.#picker.sequential = sequential;
  }

  /**
   * Starts the wire protocol on a connected link: handshakes with a fresh nonce, then the
   * capability proofs; only a remote whose proof checks out hears anything of the swarm.
   * `firstFrame` is a frame already read from the link (the remote's handshake, when the
   * remote spoke first).
   */
  addLink(link: FrameLink, firstFrame?: Uint8Array): void {
    if (this.#destroyed) {
      link.close();
      return;
    }
    const banned = this.#verifier.isBanned(link.remoteId);
    if (banned || this.#wires.has(link.remoteId)) {
      link.close(banned ? ErrorCode.BAD_PIECE : ErrorCode.BAD_HANDSHAKE);
      return;
    }
    const wire = new PeerWire(
      link,
      this.#deps,
      { infoHash: this.infoHash, discoveryKey: this.discoveryKey },
      this.#handlers,
    );
    this.#wires.set(link.remoteId, wire);
    this.#choker.start();
    wire.open({ peerId: this.peerId, nonce: this.#randomBytes(CAPABILITY_NONCE_BYTES) }, firstFrame);
  }

  /**
   * Stops talking to every peer and destroys the store (callers hand the store over: the
   * CLI's file store closes its files here). Idempotent; emits `close` last.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#choker.destroy();
    this.#uploader.destroy();
    this.#scheduler.destroy();
    this.#verifier.destroy();
    this.#metadata.destroy();
    for (const wire of [...this.#wires.values()]) {
      wire.detach();
      wire.link.close();
    }
    this.#wires.clear();
    this.store.destroy();
    this.emit('close');
    this.removeAllListeners();
  }

  // --- what each message does to the swarm -------------------------------------------------

  #wireHandlers(): PeerWireHandlers {
    return {
      handshake: (wire) => {
        this.emit('peer', wire.remoteId);
        if (this.#manifest && this.#have) wire.send({ type: 'bitfield', bits: this.#have.bytes });
        if (!this.#manifest) this.#metadata.fetch();
      },
      bitfield: (wire, bits) => {
        if (this.#manifest) {
          this.#setBits(wire, this.#parseBits(bits));
          this.#updateInterest(wire);
          this.#scheduler.requestMore(wire);
        } else {
          wire.pendingBits = bits.slice();
          this.#metadata.onBitfield(wire);
        }
      },
      have: (wire, index) => this.#onHave(wire, index),
      choke: (wire) => {
        // A choke drops what we asked: an answer of sorts, so the snub (if any) is lifted.
        this.#scheduler.release(wire);
        this.#unsnub(wire);
      },
      unchoke: (wire) => this.#scheduler.requestMore(wire),
      interest: () => this.#choker.rechoke(false),
      request: (wire, block) => this.#uploader.request(wire, block, this.#manifest, this.#have),
      reject: (wire, block) => this.#scheduler.refused(wire, block),
      piece: (wire, index, begin, data) => this.#scheduler.receive(wire, index, begin, data),
      metadataRequest: (wire, chunk) => this.#metadata.onRequest(wire, chunk),
      metadataData: (wire, chunk, total, data) => this.#metadata.onData(wire, chunk, total, data),
      metadataReject: (wire) => this.#metadata.onReject(wire),
      drain: (wire) => void this.#uploader.pump(wire),
      close: (wire, code) => this.#removeWire(wire, code),
      error: (wire, error) => this.#fail(wire, error),
    };
  }

  #onHave(wire: PeerWire, index: number): void {
    if (!this.#manifest) {
      wire.holdHave(index);
      return;
    }
    if (index >= this.#manifest.pieces.length) {
      throw new RingswarmError(ErrorCode.BAD_FRAME, `have ${index} out of range`);
    }
    let bits = wire.bits;
    if (!bits) {
      bits = new Bitfield(this.#manifest.pieces.length);
      this.#setBits(wire, bits);
    }
    if (!bits.has(index)) {
      bits.set(index);
      this.#picker?.addHave(index);
      if (!wire.amInterested && this.#have && !this.#have.has(index) && this.#isWanted(index)) {
        wire.setInterested(true);
      }
    }
    this.#scheduler.requestMore(wire);
  }

  /** Replaces a peer's bitfield, keeping piece availability in step. */
  #setBits(wire: PeerWire, bits: Bitfield | null): void {
    if (wire.bits) this.#picker?.addBitfield(wire.bits, -1);
    wire.bits = bits;
    if (bits) this.#picker?.addBitfield(bits, 1);
  }

  #parseBits(bytes: Uint8Array): Bitfield {
    try {
      return new Bitfield(this.#manifest?.pieces.length ?? 0, bytes);
    } catch (err) {
      throw new RingswarmError(ErrorCode.BAD_FRAME, (err as Error).message);
    }
  }

  #isWanted(index: number): boolean {
    return this.#wanted?.has(index) ?? true;
  }

  /** Tells a peer whether we want anything it has. */
  #updateInterest(wire: PeerWire): void {
    const have = this.#have;
    const bits = wire.bits;
    if (!have || !bits) return;
    let wanted = false;
    if (!have.complete) {
      for (let i = 0; i < bits.length && !wanted; i++) wanted = bits.has(i) && !have.has(i) && this.#isWanted(i);
    }
    wire.setInterested(wanted);
  }

  // --- pieces --------------------------------------------------------------------------

  #setManifest(manifest: Manifest, have?: Bitfield): void {
    const count = pieceCount(manifest.length, manifest.pieceLength);
    if (have && have.length !== count) throw new RangeError('have bitfield does not match the manifest');
    this.#manifest = manifest;
    this.#metadata.setManifest(manifest);
    this.#have = have ?? new Bitfield(count);
    this.#picker = new PiecePicker(count, { random: this.#deps.random, sequential: this.#sequential });
    this.#picker.setPriority(this.#priority);
    this.#scheduler.start(manifest, this.#have, this.#picker);
    this.emit('metadata', manifest);
    for (const wire of this.#wires.values()) {
      if (!wire.handshaken) continue;
      wire.send({ type: 'bitfield', bits: this.#have.bytes });
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
    this.#checkDone();
    this.#scheduler.requestAll();
  }

  /** Checks a complete piece and stores it; the verifier counts it as in progress until then. */
  async #verifyAndStore(index: number, piece: PartialPiece): Promise<void> {
    const manifest = this.#manifest;
    const have = this.#have;
    if (!manifest || !have) return;
    const verdict = await this.#verifier.verify(index, manifest.pieces[index], piece);
    if (verdict === null || this.#destroyed) return;
    if (verdict === 'bad') {
      this.#scheduler.requestAll();
      return;
    }
    try {
      await this.store.write(index, piece.data);
    } catch (err) {
      this.#verifier.settle(index);
      this.#storageError(`storing piece ${index}`, err);
      return;
    }
    this.#verifier.settle(index);
    if (this.#destroyed || have.has(index)) return;
    have.set(index);
    const lastWanted = this.#wanted?.has(index) === true && this.#holdsAll(this.#wanted);
    this.#downloadMeter.add(piece.data.length);
    for (const other of this.#wires.values()) {
      if (other.handshaken) other.send({ type: 'have', index });
    }
    this.emit('piece', index);
    this.emit('progress', this.stats());
    if (lastWanted && !have.complete) {
      for (const w of this.#wires.values()) w.setInterested(false);
    }
    this.#checkDone();
  }

  /** Emits `done` once, when every piece is held, and tells every peer we want nothing more. */
  #checkDone(): void {
    if (!this.#have?.complete || this.#doneEmitted) return;
    this.#doneEmitted = true;
    for (const w of this.#wires.values()) w.setInterested(false);
    this.emit('done');
  }

  #storageError(what: string, err: unknown): void {
    if (this.#destroyed) return;
    this.emit('error', new RingswarmError(ErrorCode.STORAGE, `${what} failed: ${(err as Error)?.message ?? err}`));
  }

  // --- peers that stop answering ----------------------------------------------------------

  /** `wire` let a request time out: ask nothing more of it, ask others for what it held. */
  #snub(wire: PeerWire, why: string): void {
    if (this.#destroyed || this.#wires.get(wire.remoteId) !== wire) return;
    if (!wire.snubbed) {
      wire.snubbed = true;
      this.#snubs++;
    }
    this.#scheduler.snub(wire);
    if (!wire.everSnubbed) {
      wire.everSnubbed = true;
      this.emit('warning', new RingswarmError(ErrorCode.PEER_TIMEOUT, `snubbed: ${why}`), wire.remoteId);
    }
    if (this.#destroyed) return;
    this.#metadata.fetch();
    this.#scheduler.requestAll();
  }

  /** `wire` answered something it was asked: it may be asked again (the caller asks). */
  #unsnub(wire: PeerWire): void {
    wire.snubbed = false;
  }

  // --- peers leaving ---------------------------------------------------------------------

  #fail(wire: PeerWire, error: RingswarmError): void {
    if (error.code === ErrorCode.CAPABILITY && this.#wires.get(wire.remoteId) === wire) this.#refused++;
    this.emit('warning', error, wire.remoteId);
    this.#removeWire(wire, error.code);
    wire.link.close(error.code);
  }

  #removeWire(wire: PeerWire, code: string | undefined): void {
    if (this.#wires.get(wire.remoteId) !== wire) return;
    this.#wires.delete(wire.remoteId);
    wire.detach();
    this.#setBits(wire, null);
    this.#scheduler.release(wire);
    this.#metadata.peerGone(wire.remoteId);
    this.emit('peer-closed', wire.remoteId, code);
    if (this.#destroyed) return;
    if (!wire.amChoking) this.#choker.rechoke(false);
    this.#metadata.fetch();
    this.#scheduler.requestAll();
  }
}
