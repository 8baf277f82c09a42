/**
 * LinkPool: every live connection of one client, and what each carries. One link per remote
 * peer carries the ring's frames (0x20-0x2f) and at most one swarm's wire (0x10-0x1f). The
 * pool enforces the connection budget (ring pointers kept first, least useful evicted) and
 * closes idle links. How a link's signaling reaches the remote is the
 * {@link SignalingRouter}'s business; the pool only makes links, through `createLink`.
 */

import { ErrorCode } from '../protocol/errors.js';
import { handshakeDiscoveryKey, isOverlayFrame, isSwarmFrame } from '../protocol/frames.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import type { CreateLink, Link, LinkOptions } from './link.js';
import { HELLO_FRAME, OverlayFrameType } from './overlay-wire.js';

/** Default upper bound on live WebRTC connections held by one client. */
export const MAX_LINKS = 32;
/** A link that carries no swarm, is no ring pointer and was silent this long is closed... */
export const IDLE_LINK_MS = 60_000;
/**
 * ...and one to a ring member (it said HELLO) this long: such a link may be a finger that
 * the remote routes lookups over now and then, and its fix-fingers check is what keeps it
 * active in between (one finger every so often); closing it sooner would have the remote
 * open it again, one more connection against a tab's lifetime cap.
 */
export const IDLE_RING_LINK_MS = 10 * 60_000;
/** How often idle links are looked for. */
export const IDLE_SWEEP_MS = 15_000;

/**
 * The frame interface a Swarm sees: only swarm frames, and closing it closes the link. The
 * link's WebRTC role and DTLS fingerprints pass through, for the capability proofs.
 */
export class SwarmPort extends Emitter<{ frame: [Uint8Array]; drain: []; close: [code?: string] }> {
  readonly remoteId: string;
  readonly initiator: boolean;
  readonly #link: Link;

  constructor(link: Link) {
    super();
    this.remoteId = link.remoteId;
    this.initiator = link.initiator;
    this.#link = link;
  }

  fingerprints(): { local: string; remote: string } | null {
    return this.#link.fingerprints();
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
  readonly link: Link;
  /** The swarm this link carries, once attached. */
  port: SwarmPort | null;
  /** The discovery key of the swarm this link carries, once attached. */
  discoveryKey: string | null;
  /** The remote said HELLO: a ring member that routes signals. */
  routesSignals: boolean;
  lastActive: number;
  /** When the link was created, on the pool's clock. */
  readonly createdAt: number;
  /** Milliseconds from creation to the open data channel; null until then. */
  setupMs: number | null;
  /** Closed by this client on purpose (eviction, idle, a newer connection): not a failure. */
  retired: boolean;
  /**
   * The remote proved its ID: the link was set up through signals it signed (the router
   * sets this when it creates a link from a verified offer, or applies a verified answer).
   * Overlay frames (HELLO, RING, ROUTE) from a link that is not are refused. Today every link
   * comes from the router, so this is a guard, not a path.
   */
  proven: boolean;
}

/** A swarm this client runs, as the pool sees it: it takes over a link whose handshake names its discovery key. */
export interface SwarmHost {
  attach(port: SwarmPort, firstFrame: Uint8Array): void;
}

export interface LinkPoolDeps {
  peerId: string;
  clock: Clock;
  /** Makes each new link (the real one: {@link createPeerLink}). */
  createLink: CreateLink;
  /** Options for new links, read at each new link (so new ICE servers apply from then on). */
  linkOptions: Readonly<LinkOptions>;
  /** True for ring pointers: their links are kept before all others. */
  isPointer(peerId: string): boolean;
  /**
   * A swarm handshake arrived on a link that carries no swarm yet: the swarm whose discovery
   * key it names, if this client runs it.
   */
  swarmFor(discoveryKey: string): SwarmHost | null;
  /**
   * This peer is a ring member: it says HELLO on every new link, so remotes know it routes
   * signals. A function is asked as each link opens (a peer that may become a member later
   * calls {@link LinkPool.announceMember} then).
   */
  ringMember: boolean | (() => boolean);
}

export type LinkPoolEvents = {
  /** A link opened. */
  'link-open': [entry: LinkEntry];
  /**
   * A link closed; `code` says why when it was not a plain hang-up; `discoveryKey`: the swarm
   * it was for; `failed`: it broke or never opened (not retired on purpose by this client).
   */
  'link-close': [remoteId: string, code: string | undefined, discoveryKey: string | null, failed: boolean];
  /** An overlay frame other than HELLO (a RING or ROUTE frame) from a linked peer. */
  'overlay-frame': [from: string, frame: Uint8Array];
  /** The pool was destroyed; the last event. */
  close: [];
};

export class LinkPool extends Emitter<LinkPoolEvents> {
  readonly maxLinks: number;
  readonly #deps: LinkPoolDeps;
  readonly #entries = new Map<string, LinkEntry>();
  /** {@link routablePeers}, kept until a link opens, closes or says HELLO. */
  #routable: string[] | null = null;
  #sweepTimer: unknown = null;
  #destroyed = false;

  constructor(deps: LinkPoolDeps, maxLinks = MAX_LINKS) {
    super();
    this.#deps = deps;
    this.maxLinks = maxLinks;
    this.#scheduleSweep();
  }

  get destroyed(): boolean {
    return this.#destroyed;
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

  /** True when an open (connected) link to the peer exists. */
  isOpen(remoteId: string): boolean {
    return this.#entries.get(remoteId)?.link.connected ?? false;
  }

  /**
   * Peers with an open link that said HELLO: ring members that route signals. The same array
   * comes back until one of them changes (every routed hop asks), so it must not be changed.
   */
  routablePeers(): readonly string[] {
    if (this.#routable === null) {
      this.#routable = [];
      for (const [id, e] of this.#entries) if (e.routesSignals && e.link.connected) this.#routable.push(id);
    }
    return this.#routable;
  }

  /**
   * A new link to a peer that has none. Null when the budget is full and nothing can be
   * evicted (or there is a link already). `forRing` links may evict swarm links; other links
   * evict only links that carry nothing.
   */
  create(remoteId: string, initiator: boolean, forRing: boolean): LinkEntry | null {
    if (this.#destroyed || remoteId === this.#deps.peerId || this.#entries.has(remoteId)) return null;
    if (!this.#makeRoom(forRing)) return null;
    const link = this.#deps.createLink(remoteId, initiator, this.#deps.linkOptions);
    const now = this.#deps.clock.now();
    const entry: LinkEntry = {
      link,
      port: null,
      discoveryKey: null,
      routesSignals: false,
      lastActive: now,
      createdAt: now,
      setupMs: null,
      retired: false,
      proven: false,
    };
    this.#entries.set(remoteId, entry);
    link.on('connect', () => {
      if (this.#destroyed) return;
      entry.setupMs = this.#deps.clock.now() - entry.createdAt;
      this.#routable = null;
      if (this.#isRingMember()) link.send(HELLO_FRAME);
      this.emit('link-open', entry);
    });
    link.on('frame', (frame) => {
      if (!this.#destroyed) this.#onFrame(entry, frame);
    });
    link.on('drain', () => {
      if (!this.#destroyed) entry.port?.feed('drain');
    });
    link.once('close', (code) => {
      // destroy() tears every entry down itself.
      if (this.#destroyed) return;
      if (this.#entries.get(remoteId) === entry) this.#entries.delete(remoteId);
      this.#routable = null;
      entry.port?.feed('close', code);
      this.emit('link-close', remoteId, code, entry.discoveryKey, !entry.retired);
    });
    return entry;
  }

  #isRingMember(): boolean {
    const member = this.#deps.ringMember;
    return typeof member === 'function' ? member() : member;
  }

  /** This peer has become a ring member: it says HELLO on every open link (new ones say it as they open). */
  announceMember(): void {
    for (const e of this.#entries.values()) if (e.link.connected) e.link.send(HELLO_FRAME);
  }

  /** Attaches a swarm to a link (now, or once it opens); false when the link carries another swarm. */
  attach(entry: LinkEntry, discoveryKey: string, start: (port: SwarmPort) => void): boolean {
    if (entry.discoveryKey !== null) return false;
    entry.discoveryKey = discoveryKey;
    const port = new SwarmPort(entry.link);
    const go = () => {
      if (entry.link.destroyed || this.#destroyed) return;
      entry.port = port;
      start(port);
    };
    if (entry.link.connected) go();
    else entry.link.once('connect', go);
    return true;
  }

  /** Closes a link on purpose (a newer connection replaces it): not counted as a failure. */
  retire(entry: LinkEntry, code?: string): void {
    entry.retired = true;
    entry.link.close(code);
  }

  /** Closes the link to a peer that broke a protocol. */
  drop(peerId: string, code: string): void {
    this.#entries.get(peerId)?.link.close(code);
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
      const discoveryKey = handshakeDiscoveryKey(frame);
      const swarm = discoveryKey === null ? null : this.#deps.swarmFor(discoveryKey);
      if (discoveryKey === null || !swarm || entry.discoveryKey !== null) {
        entry.link.close(ErrorCode.BAD_HANDSHAKE);
        return;
      }
      const port = new SwarmPort(entry.link);
      entry.port = port;
      entry.discoveryKey = discoveryKey;
      swarm.attach(port, frame);
      return;
    }
    if (isOverlayFrame(frame)) {
      // Ring frames (join, get-state, routed signals) only from a remote that proved its ID.
      if (!entry.proven) {
        entry.link.close(ErrorCode.BAD_SIGNATURE);
        return;
      }
      if (frame[0] === OverlayFrameType.HELLO) {
        entry.routesSignals = frame.byteLength === 1;
        this.#routable = null;
      } else this.emit('overlay-frame', remoteId, frame);
      return;
    }
    entry.link.close(ErrorCode.BAD_FRAME);
  }

  /** Frees a slot if the budget is full: idle links first, then (for the ring) swarm links. */
  #makeRoom(forRing: boolean): boolean {
    if (this.#entries.size < this.maxLinks) return true;
    let victim: LinkEntry | null = null;
    for (const e of this.#entries.values()) {
      if (this.#deps.isPointer(e.link.remoteId)) continue;
      if (e.discoveryKey !== null && !forRing) continue;
      const better =
        victim === null ||
        (victim.discoveryKey !== null && e.discoveryKey === null) ||
        ((victim.discoveryKey === null) === (e.discoveryKey === null) && e.lastActive < victim.lastActive);
      if (better) victim = e;
    }
    if (!victim) return false;
    this.retire(victim, ErrorCode.TOO_MANY_LINKS);
    return true;
  }

  #scheduleSweep(): void {
    this.#sweepTimer = this.#deps.clock.setTimeout(() => {
      this.#sweepTimer = null;
      if (this.#destroyed) return;
      const now = this.#deps.clock.now();
      for (const e of [...this.#entries.values()]) {
        const cutoff = now - (e.routesSignals ? IDLE_RING_LINK_MS : IDLE_LINK_MS);
        if (e.discoveryKey === null && e.lastActive < cutoff && !this.#deps.isPointer(e.link.remoteId)) this.retire(e);
      }
      this.#scheduleSweep();
    }, IDLE_SWEEP_MS);
  }

  /**
   * Closes every link (their swarms see their ports close; no `link-close` is emitted for
   * them), then emits `close`. Idempotent.
   */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#deps.clock.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = null;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    this.#routable = null;
    for (const e of entries) {
      e.retired = true;
      e.link.close();
      e.port?.feed('close');
    }
    this.emit('close');
    this.removeAllListeners();
  }
}
