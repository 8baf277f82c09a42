/**
 * RingswarmClient: one peer's wiring of tracker, ring overlay, peer links and swarms. The
 * web client and Node peers both use it; neither talks to simple-peer or socket.io directly.
 *
 * Discovery: a swarm finds peers through the tracker's announces (mode `tracker`, the
 * default) and through the ring's DHT (`infohash -> provider peer IDs`), or through the DHT
 * alone (mode `dht`), which keeps working when the tracker is gone: connections are then
 * signaled hop by hop through the ring.
 */

import { LinkPool, MAX_LINKS, type SignalPath, type SwarmPort } from './net/link-pool.js';
import { Overlay, type OverlayOptions, type RingStats } from './net/overlay.js';
import { NO_ROUTE_MESSAGE, type SelectedPair } from './net/peer-link.js';
import { TrackerClient } from './net/tracker-client.js';
import { ErrorCode, RingswarmError } from './protocol/errors.js';
import type { DiscoveryMode } from './protocol/link.js';
import type { AnnounceEvent } from './protocol/tracker.js';
import type { Bitfield } from './swarm/bitfield.js';
import { infoHashOf, type Manifest } from './swarm/manifest.js';
import { MemoryPieceStore, type PieceStore } from './swarm/piece-store.js';
import { RateLimiter } from './swarm/rate-limiter.js';
import { type RateLimits, Swarm } from './swarm/swarm.js';
import { randomBytes, toHex } from './util/bytes.js';
import { systemClock, systemRandom } from './util/clock.js';
import { Emitter } from './util/emitter.js';

/** Peers asked for in each announce. */
export const NUMWANT = 30;
/** Announce again this soon while a download has no peer, instead of the tracker's interval. */
export const LONELY_ANNOUNCE_MS = 3_000;
/** Look the swarm up in the DHT again this soon while a download has no peer. */
export const LONELY_LOOKUP_MS = 3_000;
/** DHT lookups for a swarm that has peers (new providers join over time). */
export const DHT_LOOKUP_INTERVAL_MS = 60_000;

export interface ClientOptions {
  /**
   * Tracker (signaling server) URL, e.g. `http://localhost:8080`, or the URLs of several
   * instances of one tracker cluster: the client fails over between them (with backoff) and
   * announces its swarms again after each reconnect.
   */
  trackerUrl: string | readonly string[];
  /** 40 hex digits; default random. */
  peerId?: string;
  /** WebRTC implementation for Node (`@roamhq/wrtc`). */
  wrtc?: object;
  /** STUN/TURN servers for new links; default none. */
  iceServers?: RTCIceServer[];
  /**
   * Be a full member of the ring: route signaling, hold DHT records, find swarms without
   * the tracker. Default true; an object tunes the ring's intervals.
   */
  ring?: boolean | OverlayOptions;
  /** Most live WebRTC connections (ring pointers first, then swarm peers). Default {@link MAX_LINKS}. */
  maxLinks?: number;
}

export interface SwarmCreateOptions {
  /** Download pieces in order (streaming). */
  sequential?: boolean;
  /** A manifest already known (resume); it must hash to the infohash. */
  manifest?: Manifest;
  /** Pieces already held and verified (resume); requires `manifest`. */
  have?: Bitfield;
  /** Where peers are found: tracker and DHT (`tracker`, default) or the DHT only (`dht`). */
  mode?: DiscoveryMode;
}

export type ClientEvents = {
  /** A non-fatal problem: a tracker error, a misbehaving peer. */
  warning: [error: Error];
  /** This peer joined the ring. */
  'ring-joined': [];
  close: [];
};

interface SwarmEntry {
  swarm: Swarm;
  mode: DiscoveryMode;
  timer: ReturnType<typeof setTimeout> | undefined;
  lookupTimer: ReturnType<typeof setTimeout> | undefined;
  stopped: boolean;
  /** Finished, and no tracker has acknowledged a `completed` announce yet (e.g. mid-failover). */
  completionUnsent: boolean;
  /** File names published in the DHT for this swarm. */
  names: string[];
}

export class RingswarmClient extends Emitter<ClientEvents> {
  readonly peerId: string;
  readonly tracker: TrackerClient;
  /** The ring membership; null when the client runs with `ring: false`. */
  readonly overlay: Overlay | null;
  readonly #links: LinkPool;
  /** Options for new PeerLinks; the pool reads them at each new connection. */
  readonly #linkOptions: { wrtc?: object; iceServers?: RTCIceServer[] } = {};
  #swarms = new Map<string, SwarmEntry>();
  #limits = {
    upload: new RateLimiter(() => systemClock.now()),
    download: new RateLimiter(() => systemClock.now()),
  };
  #destroyed = false;

  constructor(options: ClientOptions) {
    super();
    this.peerId = options.peerId ?? toHex(randomBytes(20));
    this.tracker = new TrackerClient(options.trackerUrl, this.peerId);
    const linkOptions = this.#linkOptions;
    if (options.wrtc) linkOptions.wrtc = options.wrtc;
    if (options.iceServers) linkOptions.iceServers = options.iceServers;
    this.#links = new LinkPool(
      {
        peerId: this.peerId,
        clock: systemClock,
        linkOptions,
        routeSignal: (to, data) => this.overlay?.routeSignal(to, data) ?? false,
        trackerSignal: (to, data) => {
          this.overlay?.countTrackerSignal();
          return this.tracker.signal(to, data);
        },
        trackerConnected: () => this.tracker.connected,
        ringReady: () => this.overlay?.joined ?? false,
        isPointer: (peerId) => this.overlay?.isPointer(peerId) ?? false,
        onOverlayFrame: (from, frame) => {
          if (this.overlay) this.overlay.handleFrame(from, frame);
          else this.#links.get(from)?.link.close(ErrorCode.BAD_FRAME);
        },
        swarmFor: (infoHash) => {
          const swarm = this.#swarms.get(infoHash)?.swarm;
          return swarm ? { attach: (port, first) => swarm.addLink(port, first) } : null;
        },
        hello: options.ring !== false,
      },
      options.maxLinks ?? MAX_LINKS,
    );
    this.#links.on('warning', (err) => this.emit('warning', err));
    this.#links.on('close', (remoteId, code, infoHash, failed) => {
      if (failed) this.overlay?.linkFailed(remoteId);
      // A ring link to a node that died fails the same way; only swarm peers are worth a word.
      if (code === ErrorCode.NO_ROUTE && infoHash !== null && !this.#destroyed) {
        this.emit('warning', new RingswarmError(ErrorCode.NO_ROUTE, `peer ${remoteId}: ${NO_ROUTE_MESSAGE}`));
      }
    });
    this.overlay = options.ring === false ? null : this.#createOverlay(options.ring === true ? {} : options.ring);
    this.tracker.on('signal', ({ from, data }) => this.#links.onSignal(from, data, 'tracker'));
    this.tracker.on('error', (err) => this.emit('warning', err));
    // After a reconnect (to the same tracker or, failing over, to another instance of its
    // cluster) announce every swarm again, and count this peer as a ring member again.
    this.tracker.on('connect', () => {
      for (const [infoHash, entry] of this.#swarms) {
        if (!entry.stopped && entry.mode === 'tracker') void this.#announce(infoHash, 'started');
      }
      if (this.overlay?.joined) this.tracker.ringBootstrap(1).catch(() => {});
    });
    this.overlay?.start();
  }

  #createOverlay(options: OverlayOptions = {}): Overlay {
    const overlay = new Overlay(
      {
        peerId: this.peerId,
        clock: systemClock,
        random: systemRandom,
        bootstrap: (k) => this.tracker.ringBootstrap(k),
        transport: {
          send: (peerId, frame) => {
            const entry = this.#links.open(peerId, true);
            return entry ? entry.link.send(frame) || true : false;
          },
          sendOpen: (peerId, frame) => {
            const entry = this.#links.get(peerId);
            if (!entry?.link.connected) return false;
            entry.link.send(frame);
            return true;
          },
          isOpen: (peerId) => this.#links.isOpen(peerId),
          routablePeers: () => this.#links.routablePeers(),
          deliverSignal: (from, data) => this.#links.onSignal(from, data, 'ring'),
          drop: (peerId, code) => this.#links.get(peerId)?.link.close(code),
        },
      },
      options,
    );
    overlay.on('warning', (err) => this.emit('warning', err));
    overlay.on('joined', () => {
      this.emit('ring-joined');
      for (const entry of this.#swarms.values()) {
        this.#publish(entry);
        void this.#lookup(entry);
      }
    });
    return overlay;
  }

  get swarms(): Swarm[] {
    return [...this.#swarms.values()].map((e) => e.swarm);
  }

  get linkCount(): number {
    return this.#links.size;
  }

  /** This peer's place in the ring; null without a ring. */
  ringStats(): RingStats | null {
    return this.overlay?.stats() ?? null;
  }

  /** Peers that published `infoHash` in the DHT. */
  findProviders(infoHash: string): Promise<string[]> {
    if (!this.overlay) return Promise.reject(new Error('the ring is off (ring: false)'));
    return this.overlay.findProviders(infoHash);
  }

  /** Infohashes of files shared under this exact name, found through the DHT. */
  searchByName(name: string): Promise<string[]> {
    if (!this.overlay) return Promise.reject(new Error('the ring is off (ring: false)'));
    return this.overlay.searchByName(name);
  }

  /** Starts seeding a complete file set. */
  async seed(manifest: Manifest, store: PieceStore, have: Bitfield, mode: DiscoveryMode = 'tracker'): Promise<Swarm> {
    const infoHash = await infoHashOf(manifest);
    return this.#add(new Swarm(this.#swarmDeps(store), { infoHash, manifest, have }), mode);
  }

  /** Joins a swarm by infohash; the manifest is fetched from peers and verified. */
  download(infoHash: string, store: PieceStore = new MemoryPieceStore(), options: SwarmCreateOptions = {}): Swarm {
    const { mode = 'tracker', ...swarmOptions } = options;
    if (swarmOptions.have && !swarmOptions.manifest) throw new RangeError('have needs the manifest');
    if (mode === 'dht' && !this.overlay) throw new RangeError('mode "dht" needs the ring (ring: false was given)');
    return this.#add(new Swarm(this.#swarmDeps(store), { infoHash, ...swarmOptions }), mode);
  }

  /**
   * Replaces the STUN/TURN servers used for new connections (open ones keep theirs): for
   * TURN credentials that expire and are fetched again.
   */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.#linkOptions.iceServers = iceServers;
  }

  /** Limits upload and download across all swarms, in bytes per second (null = unlimited). */
  setRateLimits(limits: RateLimits): void {
    if (limits.upload !== undefined) this.#limits.upload.setRate(limits.upload);
    if (limits.download !== undefined) this.#limits.download.setRate(limits.download);
    // Swarms re-read their limits on the next send; nudge them in case they are waiting.
    for (const swarm of this.swarms) swarm.setRateLimits({});
  }

  #swarmDeps(store: PieceStore) {
    return { peerId: this.peerId, store, clock: systemClock, limits: this.#limits };
  }

  /** Leaves a swarm: tells the tracker and the DHT, closes its links, destroys it. */
  remove(infoHash: string): void {
    const entry = this.#swarms.get(infoHash);
    if (!entry) return;
    entry.stopped = true;
    clearTimeout(entry.timer);
    clearTimeout(entry.lookupTimer);
    this.#swarms.delete(infoHash);
    if (entry.mode === 'tracker') void this.#announceOnce(entry.swarm, 'stopped').catch(() => {});
    if (this.overlay) {
      this.overlay.withdraw(infoHash);
      for (const name of entry.names) void this.overlay.withdrawName(name, infoHash);
    }
    entry.swarm.destroy();
  }

  #add(swarm: Swarm, mode: DiscoveryMode): Swarm {
    const existing = this.#swarms.get(swarm.infoHash);
    if (existing) {
      swarm.destroy();
      return existing.swarm;
    }
    const entry: SwarmEntry = {
      swarm,
      mode,
      timer: undefined,
      lookupTimer: undefined,
      stopped: false,
      completionUnsent: false,
      names: [],
    };
    this.#swarms.set(swarm.infoHash, entry);
    swarm.on('done', () => {
      this.#publish(entry);
      if (entry.mode !== 'tracker') return;
      entry.completionUnsent = true;
      void this.#announce(swarm.infoHash, 'completed');
    });
    swarm.on('warning', (err, remoteId) =>
      this.emit('warning', new Error(`peer ${remoteId}: ${err.code} ${err.message}`)),
    );
    swarm.on('error', (err) => this.emit('warning', err));
    swarm.on('peer-closed', () => {
      if (swarm.done || swarm.peerIds.length > 0) return;
      if (entry.mode === 'tracker') this.#schedule(entry, LONELY_ANNOUNCE_MS);
      this.#scheduleLookup(entry, LONELY_LOOKUP_MS);
    });
    if (mode === 'tracker') void this.#announce(swarm.infoHash, 'started');
    this.#publish(entry);
    if (this.overlay) void this.#lookup(entry);
    return swarm;
  }

  /** Tells the DHT this peer serves the swarm, and (once complete) the names of its files. */
  #publish(entry: SwarmEntry): void {
    const overlay = this.overlay;
    if (!overlay?.joined || entry.stopped) return;
    const infoHash = entry.swarm.infoHash;
    overlay.provide(infoHash);
    const manifest = entry.swarm.manifest;
    if (!entry.swarm.done || !manifest || entry.names.length > 0) return;
    const names = new Set([manifest.name, ...manifest.files.map((f) => f.path.split('/').pop() ?? manifest.name)]);
    entry.names = [...names];
    for (const name of entry.names) void overlay.publishName(name, infoHash);
  }

  async #lookup(entry: SwarmEntry): Promise<void> {
    const overlay = this.overlay;
    if (!overlay || entry.stopped || this.#destroyed) return;
    clearTimeout(entry.lookupTimer);
    if (!overlay.joined) {
      this.#scheduleLookup(entry, LONELY_LOOKUP_MS);
      return;
    }
    let providers: string[] = [];
    try {
      providers = await overlay.findProviders(entry.swarm.infoHash);
    } catch (err) {
      this.emit('warning', err as Error);
    }
    if (entry.stopped || this.#destroyed) return;
    for (const remoteId of providers) this.#connect(remoteId, entry.swarm);
    const lonely = !entry.swarm.done && entry.swarm.peerIds.length === 0;
    this.#scheduleLookup(entry, lonely ? LONELY_LOOKUP_MS : DHT_LOOKUP_INTERVAL_MS);
  }

  #scheduleLookup(entry: SwarmEntry, delayMs: number): void {
    if (!this.overlay || entry.stopped || this.#destroyed) return;
    clearTimeout(entry.lookupTimer);
    entry.lookupTimer = setTimeout(() => void this.#lookup(entry), delayMs);
  }

  #announceOnce(swarm: Swarm, event: AnnounceEvent) {
    const stats = swarm.stats();
    return this.tracker.announce({
      infoHash: swarm.infoHash,
      event,
      left: swarm.left,
      uploaded: stats.uploaded,
      downloaded: stats.downloaded,
      numwant: event === 'stopped' ? 0 : NUMWANT,
    });
  }

  async #announce(infoHash: string, requested: AnnounceEvent): Promise<void> {
    const entry = this.#swarms.get(infoHash);
    if (!entry || entry.stopped || this.#destroyed) return;
    clearTimeout(entry.timer);
    // A completion lost to a dropped connection is told to the next tracker instead.
    const event = entry.completionUnsent ? 'completed' : requested;
    try {
      const res = await this.#announceOnce(entry.swarm, event);
      if (entry.stopped || this.#destroyed) return;
      if (event === 'completed') entry.completionUnsent = false;
      for (const remoteId of res.peers) this.#connect(remoteId, entry.swarm);
      const lonely = res.peers.length === 0 && !entry.swarm.done;
      this.#schedule(entry, lonely ? LONELY_ANNOUNCE_MS : res.interval * 1000);
    } catch (err) {
      if (entry.stopped || this.#destroyed) return;
      this.emit('warning', err as RingswarmError);
      this.#schedule(entry, LONELY_ANNOUNCE_MS);
    }
  }

  #schedule(entry: SwarmEntry, delayMs: number): void {
    if (entry.stopped || this.#destroyed) return;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void this.#announce(entry.swarm.infoHash, 'update'), delayMs);
  }

  /** Opens (or reuses) a link to a peer for one swarm. */
  #connect(remoteId: string, swarm: Swarm): void {
    if (remoteId === this.peerId || swarm.peerIds.includes(remoteId)) return;
    const entry = this.#links.open(remoteId, false);
    if (!entry) return;
    this.#links.attach(entry, swarm.infoHash, (port: SwarmPort) => swarm.addLink(port));
  }

  /**
   * Opens a link to a peer ahead of need (a ring member, a provider found in the DHT),
   * signaled through the ring or the tracker (default: the ring once this peer has joined
   * it, with the tracker as fallback). Resolves with the connection's setup time in ms (0
   * when a link was already open); rejects with the close code when it fails.
   */
  connect(peerId: string, options: { via?: SignalPath } = {}): Promise<number> {
    const entry = this.#links.open(peerId, false, options.via);
    if (!entry) return Promise.reject(new RingswarmError(ErrorCode.TOO_MANY_LINKS, 'no free connection slot'));
    if (entry.link.connected) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      const onConnect = () => {
        entry.link.off('close', onClose);
        resolve(entry.setupMs ?? 0);
      };
      const onClose = (code?: string) => {
        entry.link.off('connect', onConnect);
        reject(new Error(`link to ${peerId.slice(0, 8)} closed before it opened (${code ?? 'closed'})`));
      };
      entry.link.once('connect', onConnect);
      entry.link.once('close', onClose);
    });
  }

  /** True while a link (open or opening) to the peer exists. */
  hasLink(remoteId: string): boolean {
    return this.#links.get(remoteId) !== undefined;
  }

  /**
   * How the live link to a peer gets through: its selected ICE candidate pair (host, srflx,
   * prflx or relay on each side). Null when there is no open link to that peer.
   */
  async connectionInfo(remoteId: string): Promise<SelectedPair | null> {
    return (await this.#links.get(remoteId)?.link.selectedPair()) ?? null;
  }

  /** Leaves every swarm and the ring, closes every link and the tracker connection. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    for (const infoHash of [...this.#swarms.keys()]) this.remove(infoHash);
    this.#destroyed = true;
    // The ring's goodbyes (LEAVE, keys handed over) go into the channels now. The links
    // close at once all the same: a process may exit right after destroy(), and a native
    // WebRTC stack must not be left with open connections then. A goodbye that does not
    // get out costs the neighbours one answer timeout, nothing more.
    this.overlay?.destroy();
    this.#links.destroy();
    // Let the 'stopped' announces leave before the socket closes.
    setTimeout(() => this.tracker.destroy(), 0);
    this.emit('close');
    this.removeAllListeners();
  }
}
