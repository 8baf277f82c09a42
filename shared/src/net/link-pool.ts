/**
 * LinkPool: every live WebRTC connection of one client, and what each carries. One PeerLink
 * per remote peer carries the ring's frames (0x20-0x2f) and at most one swarm's wire
 * (0x10-0x1f). The pool decides how signaling reaches the remote (through the ring when it
 * can, through the tracker otherwise, and through the tracker again when the ring path stays
 * silent), enforces the connection budget (ring pointers kept first, least useful evicted),
 * and closes idle links.
 *
 * Signals carry a session id `sid` next to simple-peer's data, so that data from an
 * earlier attempt, or the same data arriving by both paths, never reaches a new connection.
 */

import { ErrorCode } from '../protocol/errors.js';
import { isOverlayFrame, isSwarmFrame } from '../protocol/frames.js';
import { decodeMessage, MessageType } from '../swarm/wire-codec.js';
import { randomBytes, toHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import { HELLO_FRAME, OverlayFrameType } from './overlay-wire.js';
import { PeerLink, type PeerLinkOptions } from './peer-link.js';

/** Default upper bound on live WebRTC connections held by one client. */
export const MAX_LINKS = 32;
/** A connection signaled through the ring that has not opened by then is signaled again via the tracker. */
export const RING_SIGNAL_FALLBACK_MS = 4_000;
/** A link that carries no swarm, is no ring pointer and was silent this long is closed. */
export const IDLE_LINK_MS = 60_000;
/** How often idle links are looked for. */
export const IDLE_SWEEP_MS = 15_000;
/**
 * After a link to a peer failed, new connections to it are signaled through the tracker
 * for this long: the tracker knows at once whether the peer is still connected, where a
 * signal routed through the ring to a peer that died would just get lost.
 */
export const FAILED_PEER_MEMORY_MS = 30_000;
/** Signals of one connection attempt kept for a replay through the tracker. */
const MAX_REPLAYED_SIGNALS = 64;

export type SignalPath = 'ring' | 'tracker';

/** The frame interface a Swarm sees: only swarm frames, and closing it closes the link. */
export class SwarmPort extends Emitter<{ frame: [Uint8Array]; drain: []; close: [code?: string] }> {
  readonly remoteId: string;
  readonly #link: PeerLink;

  constructor(link: PeerLink) {
    super();
    this.remoteId = link.remoteId;
    this.#link = link;
  }

  send(frame: Uint8Array): boolean {
    return this.#link.send(frame);
  }

  close(code?: string): void {
    this.#link.close(code);
  }

  /** @internal the pool feeds link events through. */
  feed(event: 'frame', frame: Uint8Array): void;
  feed(event: 'drain'): void;
  feed(event: 'close', code?: string): void;
  feed(event: 'frame' | 'drain' | 'close', arg?: Uint8Array | string): void {
    if (event === 'frame') this.emit('frame', arg as Uint8Array);
    else if (event === 'drain') this.emit('drain');
    else {
      this.emit('close', arg as string | undefined);
      this.removeAllListeners();
    }
  }
}

export interface LinkEntry {
  readonly link: PeerLink;
  readonly sid: string;
  /** How our signals for this connection travel now. */
  path: SignalPath;
  /** Our signals so far, for a replay through the tracker. */
  emitted: Record<string, unknown>[];
  /** The remote's answer (or offer) was applied; duplicates are ignored. */
  gotDescription: boolean;
  /** The swarm this link carries, once attached. */
  port: SwarmPort | null;
  infoHash: string | null;
  /** The remote said HELLO: a ring member that routes signals. */
  routable: boolean;
  lastActive: number;
  fallbackTimer: unknown;
  /** When the link was created, on the pool's clock. */
  readonly createdAt: number;
  /** Milliseconds from creation to the open data channel; null until then. */
  setupMs: number | null;
  /** Closed by this pool on purpose (eviction, idle, a newer connection): not a failure. */
  retired: boolean;
}

export interface LinkPoolDeps {
  peerId: string;
  clock: Clock;
  /** PeerLink options besides `initiator` (wrtc, ICE servers). */
  linkOptions: Omit<PeerLinkOptions, 'initiator'>;
  /** Sends signaling through the ring; false when the ring cannot take it. */
  routeSignal(to: string, data: Record<string, unknown>): boolean;
  /** Sends signaling through the tracker. */
  trackerSignal(to: string, data: Record<string, unknown>): Promise<void>;
  trackerConnected(): boolean;
  /** True when the ring should carry new signaling (this peer has joined it). */
  ringReady(): boolean;
  /** True for ring pointers: their links are kept before all others. */
  isPointer(peerId: string): boolean;
  /** An overlay frame from a peer (RING or ROUTE). */
  onOverlayFrame(from: string, frame: Uint8Array): void;
  /** A swarm handshake arrived on a link that carries no swarm yet: the swarm to attach, if any. */
  swarmFor(infoHash: string): { attach(port: SwarmPort, firstFrame: Uint8Array): void } | null;
  /** Whether to say HELLO on every new link (this peer runs the overlay). */
  hello: boolean;
}

export type LinkPoolEvents = {
  /** A link opened. */
  open: [entry: LinkEntry];
  /**
   * A link closed; `code` says why when it was not a plain hang-up; `infoHash`: the swarm it
   * was for; `failed`: it broke or never opened (not retired on purpose by this pool).
   */
  close: [remoteId: string, code: string | undefined, infoHash: string | null, failed: boolean];
  warning: [error: Error];
};

export class LinkPool extends Emitter<LinkPoolEvents> {
  readonly maxLinks: number;
  readonly #deps: LinkPoolDeps;
  readonly #entries = new Map<string, LinkEntry>();
  /** Peers whose last link failed, and when. */
  readonly #failedAt = new Map<string, number>();
  #sweepTimer: unknown;
  #destroyed = false;

  constructor(deps: LinkPoolDeps, maxLinks = MAX_LINKS) {
    super();
    this.#deps = deps;
    this.maxLinks = maxLinks;
    this.#scheduleSweep();
  }

  get size(): number {
    return this.#entries.size;
  }

  get(remoteId: string): LinkEntry | undefined {
    return this.#entries.get(remoteId);
  }

  entries(): IterableIterator<LinkEntry> {
    return this.#entries.values();
  }

  isOpen(remoteId: string): boolean {
    return this.#entries.get(remoteId)?.link.connected ?? false;
  }

  /** Open links to ring members. */
  *routablePeers(): Iterable<string> {
    for (const [id, e] of this.#entries) if (e.routable && e.link.connected) yield id;
  }

  /**
   * The link to a peer, opening one (as initiator) when there is none. Null when the budget
   * is full and nothing can be evicted. `forRing` links may evict swarm links; swarm links
   * evict only links that carry nothing.
   */
  open(remoteId: string, forRing: boolean, path?: SignalPath): LinkEntry | null {
    if (this.#destroyed || remoteId === this.#deps.peerId) return null;
    const existing = this.#entries.get(remoteId);
    if (existing) return existing;
    if (!this.#makeRoom(forRing)) return null;
    return this.#create(remoteId, true, toHex(randomBytes(8)), path ?? this.#pathTo(remoteId));
  }

  #pathTo(remoteId: string): SignalPath {
    if (!this.#deps.ringReady()) return 'tracker';
    const failedAt = this.#failedAt.get(remoteId);
    const recentlyFailed = failedAt !== undefined && this.#deps.clock.now() - failedAt < FAILED_PEER_MEMORY_MS;
    return recentlyFailed && this.#deps.trackerConnected() ? 'tracker' : 'ring';
  }

  /** Attaches a swarm to a link (now, or once it opens); false when the link carries another swarm. */
  attach(entry: LinkEntry, infoHash: string, start: (port: SwarmPort) => void): boolean {
    if (entry.infoHash !== null) return false;
    entry.infoHash = infoHash;
    const port = new SwarmPort(entry.link);
    const go = () => {
      if (entry.link.destroyed) return;
      entry.port = port;
      start(port);
    };
    if (entry.link.connected) go();
    else entry.link.once('connect', go);
    return true;
  }

  /** Handles signaling data from a remote, as relayed by the tracker or routed by the ring. */
  onSignal(from: string, raw: Record<string, unknown>, via: SignalPath): void {
    if (this.#destroyed || from === this.#deps.peerId) return;
    const { sid, ...data } = raw;
    if (typeof sid !== 'string' || !/^[0-9a-f]{16}$/.test(sid)) return;
    const entry = this.#entries.get(from);
    const isOffer = data.type === 'offer';
    if (entry && entry.sid === sid) {
      if (via === 'tracker' && !entry.link.connected && entry.path === 'ring') this.#fallBack(entry);
      if (isOffer || data.type === 'answer') {
        if (entry.gotDescription || (isOffer && entry.link.initiator)) return;
        entry.gotDescription = true;
      }
      entry.link.signal(data);
      return;
    }
    if (!isOffer) return;
    if (entry) {
      // Both sides offered at once: the lower peer ID keeps its offer, the other yields.
      if (entry.link.initiator && !entry.link.connected && this.#deps.peerId < from) return;
      entry.retired = true;
      entry.link.close();
    }
    if (!this.#makeRoom(false)) return;
    const created = this.#create(from, false, sid, via);
    created.gotDescription = true;
    created.link.signal(data);
  }

  #create(remoteId: string, initiator: boolean, sid: string, path: SignalPath): LinkEntry {
    const link = new PeerLink(remoteId, { ...this.#deps.linkOptions, initiator });
    const entry: LinkEntry = {
      link,
      sid,
      path,
      emitted: [],
      gotDescription: false,
      port: null,
      infoHash: null,
      routable: false,
      lastActive: this.#deps.clock.now(),
      fallbackTimer: null,
      createdAt: this.#deps.clock.now(),
      setupMs: null,
      retired: false,
    };
    this.#entries.set(remoteId, entry);
    link.on('signal', (data) => this.#sendSignal(entry, { ...data, sid }));
    link.on('connect', () => {
      this.#deps.clock.clearTimeout(entry.fallbackTimer);
      entry.setupMs = this.#deps.clock.now() - entry.createdAt;
      if (this.#deps.hello) link.send(HELLO_FRAME);
      this.emit('open', entry);
    });
    link.on('frame', (frame) => this.#onFrame(entry, frame));
    link.on('drain', () => entry.port?.feed('drain'));
    link.once('close', (code) => {
      this.#deps.clock.clearTimeout(entry.fallbackTimer);
      if (this.#entries.get(remoteId) === entry) this.#entries.delete(remoteId);
      entry.port?.feed('close', code);
      const failed = !entry.retired && !this.#destroyed;
      if (failed) this.#rememberFailure(remoteId);
      this.emit('close', remoteId, code, entry.infoHash, failed);
    });
    if (path === 'ring') {
      entry.fallbackTimer = this.#deps.clock.setTimeout(() => {
        if (!link.connected && !link.destroyed) this.#fallBack(entry);
      }, RING_SIGNAL_FALLBACK_MS);
    }
    return entry;
  }

  #sendSignal(entry: LinkEntry, data: Record<string, unknown>): void {
    if (entry.emitted.length < MAX_REPLAYED_SIGNALS) entry.emitted.push(data);
    const to = entry.link.remoteId;
    if (entry.path === 'ring') {
      if (this.#deps.routeSignal(to, data)) return;
      entry.path = 'tracker';
    }
    this.#viaTracker(entry, data);
  }

  #viaTracker(entry: LinkEntry, data: Record<string, unknown>): void {
    this.#deps.trackerSignal(entry.link.remoteId, data).catch((err: Error & { code?: string }) => {
      this.emit('warning', err);
      entry.link.close(err.code);
    });
  }

  /** The ring path stayed silent: send everything again through the tracker. */
  #fallBack(entry: LinkEntry): void {
    if (entry.path === 'tracker' || !this.#deps.trackerConnected()) return;
    entry.path = 'tracker';
    for (const data of entry.emitted) this.#viaTracker(entry, data);
  }

  #onFrame(entry: LinkEntry, frame: Uint8Array): void {
    entry.lastActive = this.#deps.clock.now();
    const remoteId = entry.link.remoteId;
    if (isSwarmFrame(frame)) {
      if (entry.port) {
        entry.port.feed('frame', frame);
        return;
      }
      // The opener speaks first: its handshake names the swarm this link is for.
      const swarm = frame[0] === MessageType.HANDSHAKE ? this.#swarmOf(frame) : null;
      if (!swarm || entry.infoHash !== null) {
        entry.link.close(ErrorCode.BAD_HANDSHAKE);
        return;
      }
      const port = new SwarmPort(entry.link);
      entry.port = port;
      entry.infoHash = swarm.infoHash;
      swarm.attach(port, frame);
      return;
    }
    if (isOverlayFrame(frame)) {
      if (frame[0] === OverlayFrameType.HELLO) entry.routable = frame.byteLength === 1;
      else this.#deps.onOverlayFrame(remoteId, frame);
      return;
    }
    entry.link.close(ErrorCode.BAD_FRAME);
  }

  #swarmOf(frame: Uint8Array): { infoHash: string; attach(port: SwarmPort, first: Uint8Array): void } | null {
    let infoHash: string;
    try {
      const msg = decodeMessage(frame);
      if (msg.type !== 'handshake') return null;
      infoHash = msg.infoHash;
    } catch {
      return null;
    }
    const swarm = this.#deps.swarmFor(infoHash);
    return swarm ? { infoHash, attach: (port, first) => swarm.attach(port, first) } : null;
  }

  /** Frees a slot if the budget is full: idle links first, then (for the ring) swarm links. */
  #makeRoom(forRing: boolean): boolean {
    if (this.#entries.size < this.maxLinks) return true;
    let victim: LinkEntry | null = null;
    for (const e of this.#entries.values()) {
      if (this.#deps.isPointer(e.link.remoteId)) continue;
      if (e.infoHash !== null && !forRing) continue;
      const better =
        victim === null ||
        (victim.infoHash !== null && e.infoHash === null) ||
        ((victim.infoHash === null) === (e.infoHash === null) && e.lastActive < victim.lastActive);
      if (better) victim = e;
    }
    if (!victim) return false;
    victim.retired = true;
    victim.link.close(ErrorCode.TOO_MANY_LINKS);
    return true;
  }

  #rememberFailure(remoteId: string): void {
    this.#failedAt.delete(remoteId);
    this.#failedAt.set(remoteId, this.#deps.clock.now());
    // Oldest first: forget the ones past their memory, and never keep more than a few hundred.
    const cutoff = this.#deps.clock.now() - FAILED_PEER_MEMORY_MS;
    for (const [id, at] of this.#failedAt) {
      if (at >= cutoff && this.#failedAt.size <= 256) break;
      this.#failedAt.delete(id);
    }
  }

  #scheduleSweep(): void {
    this.#sweepTimer = this.#deps.clock.setTimeout(() => {
      if (this.#destroyed) return;
      const cutoff = this.#deps.clock.now() - IDLE_LINK_MS;
      for (const e of [...this.#entries.values()]) {
        if (e.infoHash === null && e.lastActive < cutoff && !this.#deps.isPointer(e.link.remoteId)) {
          e.retired = true;
          e.link.close();
        }
      }
      this.#scheduleSweep();
    }, IDLE_SWEEP_MS);
  }

  /** Closes every link. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#deps.clock.clearTimeout(this.#sweepTimer);
    for (const e of [...this.#entries.values()]) e.link.close();
    this.#entries.clear();
    this.removeAllListeners();
  }
}
