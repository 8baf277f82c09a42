/**
 * One connection to one peer: its protocol state (who chokes whom, who wants what, what is
 * in flight either way) and the dispatch of its inbound frames, one `#onX` per message.
 * The state that concerns only this peer changes here; what concerns the swarm (pieces,
 * the manifest, the upload pump) goes to the {@link PeerWireHandlers} the swarm passes in.
 *
 * Before anything of the swarm crosses, both sides exchange handshakes (discovery key and a
 * fresh nonce) and capability proofs ({@link CapabilityHandshake}). Until the remote's proof
 * checked out, the wire sends nothing but its handshake and its proof, and any other frame
 * from the remote closes the link with `ERR_CAPABILITY`.
 *
 * Transport-agnostic: the connection is anything that satisfies {@link FrameLink}.
 */

import { discoveryKeyOf } from '../protocol/capability.js';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import type { Clock } from '../util/clock.js';
import type { Bitfield } from './bitfield.js';
import { CapabilityHandshake, type CapabilityLink } from './capability-handshake.js';
import { RateMeter } from './rate-meter.js';
import { decodeMessage, encodeMessage, WIRE_VERSION, type WireMessage } from './wire-codec.js';

/** A remote that has not proved the capability this long after our handshake is closed. */
export const CAPABILITY_TIMEOUT_MS = 15_000;

/** What may cross a link before the remote's capability proof checked out. */
const BEFORE_PROOF: ReadonlySet<WireMessage['type']> = new Set(['handshake', 'capability']);

/** What the engine needs from a connection to one peer. */
export interface FrameLink extends CapabilityLink {
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

/** A block of a piece: `length` bytes at `begin`. */
export interface Block {
  index: number;
  begin: number;
  length: number;
}

/** A block we asked a peer for. */
export interface SentRequest extends Block {
  /** Clock reading when the request was sent. */
  sentAt: number;
}

/**
 * Haves kept from a peer before we know the manifest (they are checked against it then);
 * later ones are dropped. Bounds what a peer can make us hold before we can check anything.
 */
export const MAX_PENDING_HAVES = 1 << 16;

/** The key of a block in {@link PeerWire.inflight}. */
export const blockKey = (index: number, begin: number) => `${index}:${begin}`;

/**
 * What the swarm does with a peer's messages. Each is called after the wire has updated its
 * own state; a handler may throw {@link RingswarmError} to close this peer (see `error`).
 */
export interface PeerWireHandlers {
  /** The remote proved it holds the infohash: swarm messages may flow from now on. */
  handshake(wire: PeerWire): void;
  bitfield(wire: PeerWire, bits: Uint8Array): void;
  have(wire: PeerWire, index: number): void;
  /** The remote choked us: its requests in flight will not be answered. */
  choke(wire: PeerWire): void;
  unchoke(wire: PeerWire): void;
  /** The remote's interest changed (see {@link PeerWire.peerInterested}). */
  interest(wire: PeerWire): void;
  request(wire: PeerWire, block: Block): void;
  /** The remote refused a request of ours: that piece is to be had from another peer. */
  reject(wire: PeerWire, block: Block): void;
  piece(wire: PeerWire, index: number, begin: number, data: Uint8Array): void;
  metadataRequest(wire: PeerWire, chunk: number): void;
  metadataData(wire: PeerWire, chunk: number, total: number, data: Uint8Array): void;
  metadataReject(wire: PeerWire): void;
  /** The link can take more frames again. */
  drain(wire: PeerWire): void;
  /** The link closed. */
  close(wire: PeerWire, code: string | undefined): void;
  /** The remote broke the protocol; the swarm closes it. */
  error(wire: PeerWire, error: RingswarmError): void;
}

export interface PeerWireOptions {
  /** The swarm this wire belongs to: the key of the capability proofs. */
  infoHash: string;
  /** What the handshakes name; default derived from `infoHash`. */
  discoveryKey?: string;
}

/** What our handshake says about us. */
export interface LocalHandshake {
  /** Our peer ID (40 hex digits). */
  peerId: string;
  /** A fresh nonce for this link alone. */
  nonce: Uint8Array;
}

export class PeerWire {
  readonly link: FrameLink;
  readonly remoteId: string;
  /**
   * The remote's handshake arrived and its capability proof checked out: only then does any
   * swarm message go either way.
   */
  handshaken = false;
  /** The remote's pieces, once both its bitfield and our manifest are known. */
  bits: Bitfield | null = null;
  /** A bitfield received before we had the manifest. */
  pendingBits: Uint8Array | null = null;
  /** Haves received before we had the manifest (at most {@link MAX_PENDING_HAVES}). */
  pendingHaves: number[] = [];
  /** True while the remote refuses our requests. */
  chokedByRemote = true;
  /** True while we refuse the remote's requests. */
  amChoking = true;
  /** The remote wants pieces from us. */
  peerInterested = false;
  /** We told the remote we want pieces from it. */
  amInterested = false;
  /** Our requests to the remote, by {@link blockKey}. */
  readonly inflight = new Map<string, SentRequest>();
  /**
   * Our requests that timed out (no longer counted as in flight, and asked of others), by
   * {@link blockKey}: a late answer to one is still taken, and lifts the snub. At most
   * `MAX_PIPELINE` of them are remembered, the oldest forgotten first.
   */
  readonly timedOut = new Map<string, SentRequest>();
  /**
   * Clock reading when this peer last made progress on our block requests: its last block, or
   * the request that found none outstanding. The block timeout runs from here.
   */
  progressAt = 0;
  /**
   * The remote let a request of ours time out and has not answered anything since: nothing
   * more is asked of it (see `Swarm`).
   */
  snubbed = false;
  /** True once this connection was snubbed (the warning is given once). */
  everSnubbed = false;
  /** The manifest chunk we asked the remote for and have no answer to (one at a time), or null. */
  metadataAsked: number | null = null;
  /**
   * The manifest chunk the remote asked us for and we have not sent yet (one at a time; more
   * requests meanwhile are dropped), or null.
   */
  metadataWanted: number | null = null;
  /** The remote's requests to us, in order, not yet served. */
  uploads: Block[] = [];
  /** True while the upload pump runs for this wire. */
  uploading = false;
  /** True after a send asked us to wait for `drain`. */
  waitingForDrain = false;
  /**
   * Payload bytes of this peer's blocks that went into a piece. Unlike `downloadMeter`, which
   * counts every block we asked for, it leaves out an endgame duplicate that came second.
   */
  downloaded = 0;
  /** Payload bytes sent to this peer (its total is this peer's "uploaded"). */
  readonly uploadMeter: RateMeter;
  /** Payload bytes of every requested block this peer sent, duplicates included. */
  readonly downloadMeter: RateMeter;
  /**
   * The piece we last started from this peer (its run goes on from there: `PiecePicker.pick`),
   * -1 for none, or `RUN_BROKEN` after the peer refused a request (the next run starts elsewhere).
   */
  lastStarted = -1;
  /** Pieces this peer refused us (a `reject`), and when: they are asked of others for a while. */
  readonly refusedUs = new Map<number, number>();
  /** Blocks we refused this peer, by {@link blockKey}: each is refused once, then served. */
  readonly refusedByUs = new Set<string>();
  /** Smallest request-to-block time seen, ms: the round trip without queueing. */
  minRtt = Number.POSITIVE_INFINITY;

  readonly #infoHash: string;
  readonly #discoveryKey: string;
  readonly #clock: Clock;
  readonly #handlers: PeerWireHandlers;
  #capability: CapabilityHandshake | null = null;
  #timer: unknown = null;
  #attached = false;
  readonly #listeners = {
    frame: (frame: Uint8Array) => this.onFrame(frame),
    drain: () => {
      this.waitingForDrain = false;
      this.#handlers.drain(this);
    },
    close: (code?: string) => this.#handlers.close(this, code),
  };

  constructor(link: FrameLink, deps: { clock: Clock }, options: PeerWireOptions, handlers: PeerWireHandlers) {
    this.link = link;
    this.remoteId = link.remoteId;
    this.#infoHash = options.infoHash;
    this.#discoveryKey = options.discoveryKey ?? discoveryKeyOf(options.infoHash);
    this.#clock = deps.clock;
    this.#handlers = handlers;
    const now = () => deps.clock.now();
    this.uploadMeter = new RateMeter(now);
    this.downloadMeter = new RateMeter(now);
  }

  /** True from {@link attach} until {@link detach}: the swarm still talks to this peer. */
  get attached(): boolean {
    return this.#attached;
  }

  /** Starts listening to the link. */
  attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    this.link.on('frame', this.#listeners.frame);
    this.link.on('drain', this.#listeners.drain);
    this.link.on('close', this.#listeners.close);
  }

  /**
   * Starts the handshake: listens to the link, sends our handshake, then reads `firstFrame`
   * (the remote's handshake, when the remote spoke first). A remote that has not proved the
   * capability within {@link CAPABILITY_TIMEOUT_MS} is reported to the `error` handler.
   */
  open(local: LocalHandshake, firstFrame?: Uint8Array): void {
    if (this.#capability) return;
    this.attach();
    this.#capability = new CapabilityHandshake(this.link, {
      infoHash: this.#infoHash,
      discoveryKey: this.#discoveryKey,
      nonce: local.nonce,
    });
    this.send({
      type: 'handshake',
      version: WIRE_VERSION,
      discoveryKey: this.#discoveryKey,
      peerId: local.peerId,
      nonce: local.nonce,
    });
    this.#capability.sent(firstFrame !== undefined);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (this.#attached && !this.handshaken) {
        this.#handlers.error(this, new RingswarmError(ErrorCode.CAPABILITY, 'no capability proof in time'));
      }
    }, CAPABILITY_TIMEOUT_MS);
    if (firstFrame) this.onFrame(firstFrame);
  }

  /** Stops listening to the link (it is not closed). Frames that still arrive are ignored. */
  detach(): void {
    this.#attached = false;
    this.#clearTimer();
    this.link.off('frame', this.#listeners.frame);
    this.link.off('drain', this.#listeners.drain);
    this.link.off('close', this.#listeners.close);
  }

  /** Keeps a have that came before the manifest, up to {@link MAX_PENDING_HAVES}. */
  holdHave(index: number): void {
    if (this.pendingHaves.length < MAX_PENDING_HAVES) this.pendingHaves.push(index);
  }

  /**
   * Sends one message. Before the remote's proof checked out only the handshake and our proof
   * go out; anything else is dropped (false), so no path can leak the swarm to an outsider.
   */
  send(msg: WireMessage): boolean {
    if (!this.handshaken && !BEFORE_PROOF.has(msg.type)) return false;
    return this.link.send(encodeMessage(msg));
  }

  /** Tells the remote whether we want anything it has (only on change, once handshaken). */
  setInterested(interested: boolean): void {
    if (this.amInterested === interested || !this.handshaken) return;
    this.amInterested = interested;
    this.send({ type: interested ? 'interested' : 'not-interested' });
  }

  /** Chokes or unchokes the remote (only on change); choking drops its queued requests. */
  setChoking(choke: boolean): void {
    if (choke === this.amChoking) return;
    this.amChoking = choke;
    if (choke) this.uploads = [];
    this.send({ type: choke ? 'choke' : 'unchoke' });
  }

  /**
   * Handles one inbound frame (the link's `frame` event, or a frame read before the wire
   * existed). A protocol violation goes to the `error` handler.
   */
  onFrame(frame: Uint8Array): void {
    if (!this.#attached) return;
    try {
      this.#dispatch(decodeMessage(frame));
    } catch (err) {
      if (err instanceof RingswarmError) this.#handlers.error(this, err);
      else throw err;
    }
  }

  #dispatch(msg: WireMessage): void {
    if (!this.handshaken && !BEFORE_PROOF.has(msg.type)) {
      throw new RingswarmError(ErrorCode.CAPABILITY, `${msg.type} before the capability proof`);
    }
    switch (msg.type) {
      case 'handshake':
        this.#onHandshake(msg);
        break;
      case 'capability':
        this.#onCapability(msg.proof);
        break;
      case 'bitfield':
        this.#handlers.bitfield(this, msg.bits);
        break;
      case 'have':
        this.#handlers.have(this, msg.index);
        break;
      case 'unchoke':
        this.#onUnchoke();
        break;
      case 'choke':
        this.#onChoke();
        break;
      case 'interested':
      case 'not-interested':
        this.#onInterest(msg.type === 'interested');
        break;
      case 'request':
        this.#handlers.request(this, msg);
        break;
      case 'cancel':
        this.#onCancel(msg);
        break;
      case 'reject':
        this.#handlers.reject(this, msg);
        break;
      case 'piece':
        this.#handlers.piece(this, msg.index, msg.begin, msg.data);
        break;
      case 'metadata-request':
        this.#handlers.metadataRequest(this, msg.chunk);
        break;
      case 'metadata-data':
        this.#handlers.metadataData(this, msg.chunk, msg.total, msg.data);
        break;
      case 'metadata-reject':
        this.#handlers.metadataReject(this);
        break;
    }
  }

  #onHandshake(msg: Extract<WireMessage, { type: 'handshake' }>): void {
    const capability = this.#capability;
    if (!capability) throw new RingswarmError(ErrorCode.BAD_HANDSHAKE, 'handshake before the wire was opened');
    if (capability.remoteNonceKnown) throw new RingswarmError(ErrorCode.BAD_FRAME, 'second handshake');
    if (msg.version !== WIRE_VERSION) {
      throw new RingswarmError(ErrorCode.BAD_HANDSHAKE, `wire version ${msg.version}, want ${WIRE_VERSION}`);
    }
    if (msg.discoveryKey !== this.#discoveryKey) {
      throw new RingswarmError(ErrorCode.BAD_HANDSHAKE, 'handshake for another swarm');
    }
    if (msg.peerId !== this.remoteId) {
      throw new RingswarmError(ErrorCode.BAD_HANDSHAKE, 'handshake peer ID differs from the signaled one');
    }
    this.send({ type: 'capability', proof: capability.onRemoteNonce(msg.nonce) });
  }

  #onCapability(proof: Uint8Array): void {
    const capability = this.#capability;
    if (!capability) throw new RingswarmError(ErrorCode.CAPABILITY, 'capability proof before the handshake');
    if (this.handshaken) throw new RingswarmError(ErrorCode.CAPABILITY, 'second capability proof');
    capability.verify(proof);
    this.#clearTimer();
    this.handshaken = true;
    this.#handlers.handshake(this);
  }

  #clearTimer(): void {
    if (this.#timer === null) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #onUnchoke(): void {
    this.chokedByRemote = false;
    this.#handlers.unchoke(this);
  }

  #onChoke(): void {
    this.chokedByRemote = true;
    this.#handlers.choke(this);
  }

  #onInterest(interested: boolean): void {
    this.peerInterested = interested;
    this.#handlers.interest(this);
  }

  #onCancel(block: Block): void {
    this.uploads = this.uploads.filter(
      (b) => !(b.index === block.index && b.begin === block.begin && b.length === block.length),
    );
  }
}
