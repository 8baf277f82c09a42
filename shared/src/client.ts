/**
 * RingswarmClient: one peer's wiring of tracker, ring overlay, peer links and swarms. The
 * web client and Node peers both use it; neither talks to simple-peer or socket.io directly.
 *
 * Discovery: a swarm finds peers through the tracker's announces (mode `tracker`, the
 * default) and through the ring's DHT (`discovery key -> provider peer IDs`), or through the
 * DHT alone (mode `dht`), which keeps working when the tracker is gone: connections are then
 * signaled hop by hop through the ring. Neither the tracker nor the ring learns a share's
 * infohash, unless its seeder lists it publicly ({@link SeedOptions.public}).
 */

import { LONELY_ANNOUNCE_MS, SwarmAnnouncer } from './discovery/announcer.js';
import { LONELY_LOOKUP_MS, ProviderRecords, SwarmProviders } from './discovery/providers.js';
import { type PeerIdentity, randomIdentity } from './identity/identity.js';
import type { CreateLink, LinkOptions } from './net/link.js';
import { LinkPool, MAX_LINKS, type SwarmPort } from './net/link-pool.js';
import { Overlay, type OverlayOptions, type RingStats } from './net/overlay.js';
import { OverlayFrameType } from './net/overlay-wire.js';
import { createPeerLink, type SelectedPair } from './net/peer-link.js';
import { SignalingRouter, type SignalPath } from './net/signal-router.js';
import { type CreateTrackerSocket, TrackerClient } from './net/tracker-client.js';
import { discoveryKeyOf } from './protocol/capability.js';
import { ErrorCode, NO_ROUTE_MESSAGE, RingswarmError } from './protocol/errors.js';
import { isInfoHash } from './protocol/ids.js';
import type { DiscoveryMode } from './protocol/link.js';
import type { RingLookupObserver } from './ring/lookup.js';
import type { Bitfield } from './swarm/bitfield.js';
import { infoHashOf, type Manifest } from './swarm/manifest.js';
import { MemoryPieceStore, type PieceStore } from './swarm/piece-store.js';
import { RateLimiter } from './swarm/rate-limiter.js';
import { type RateLimits, Swarm } from './swarm/swarm.js';
import { type Clock, systemClock, systemRandom } from './util/clock.js';
import { Emitter } from './util/emitter.js';

export interface ClientOptions {
  /**
   * Tracker (signaling server) URL, e.g. `http://localhost:8080`, or the URLs of several
   * instances of one tracker cluster: the client fails over between them (with backoff) and
   * announces its swarms again after each reconnect.
   */
  trackerUrl: string | readonly string[];
  /**
   * This peer's key pair; its peer ID is derived from the public key. Default a fresh random
   * identity (a new ID on every start).
   */
  identity?: PeerIdentity;
  /** WebRTC implementation for Node (`@roamhq/wrtc`). */
  wrtc?: object;
  /** STUN/TURN servers for new links; default none. */
  iceServers?: RTCIceServer[];
  /**
   * Be a full member of the ring: route signaling, hold DHT records, find swarms without
   * the tracker. Default true; an object tunes the ring's intervals.
   */
  ring?: boolean | OverlayOptions;
  /**
   * Join the ring only once {@link RingswarmClient.startRing} is called, not at once: a peer
   * that waits for TURN credentials from the tracker's socket then opens its ring links with
   * them, so those links (which swarms reuse) can be relayed too. Default false.
   */
  holdRing?: boolean;
  /** Most live WebRTC connections (ring pointers first, then swarm peers). Default {@link MAX_LINKS}. */
  maxLinks?: number;
  /** Time for every timer of the client and its parts; default the system clock. */
  clock?: Clock;
  /** Randomness for backoff jitter and the ring; default Math.random. */
  random?: () => number;
  /** Makes each peer link; default a WebRTC {@link PeerLink} ({@link createPeerLink}). */
  createLink?: CreateLink;
  /** Opens the socket to a tracker; default socket.io-client's `io`. */
  createTrackerSocket?: CreateTrackerSocket;
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

/** How a complete file set is shared ({@link RingswarmClient.seed}). */
export interface SeedOptions {
  /** Where peers are found: tracker and DHT (`tracker`, default) or the DHT only (`dht`). */
  mode?: DiscoveryMode;
  /**
   * List the share publicly (default false): once in the ring, publish `hash(file name) ->
   * infohash` for its name and each file's, so anyone can find it by exact name
   * ({@link RingswarmClient.searchByName}) and, from the infohash, download it. A private
   * share publishes no name record: only a link holder can find it.
   */
  public?: boolean;
}

export type ClientEvents = {
  /** A non-fatal problem: a tracker error, a misbehaving peer. */
  warning: [error: Error];
  /**
   * The tracker refused to announce this swarm (`ERR_BLOCKED`: its operator blocked the
   * share). Told once per swarm; the swarm is no longer announced to the tracker, and goes on
   * finding peers through the ring's DHT.
   */
  blocked: [infoHash: string];
  /** This peer joined the ring. */
  'ring-joined': [];
  close: [];
};

interface SwarmEntry {
  swarm: Swarm;
  mode: DiscoveryMode;
  /** Its tracker announces; null in mode `dht`. */
  announcer: SwarmAnnouncer | null;
  /** Its DHT records and provider lookups; null without a ring. */
  providers: SwarmProviders | null;
}

export class RingswarmClient extends Emitter<ClientEvents> {
  /** The ID of {@link identity}'s public key. */
  readonly peerId: string;
  readonly identity: PeerIdentity;
  readonly tracker: TrackerClient;
  /** The ring membership; null when the client runs with `ring: false`. */
  readonly overlay: Overlay | null;
  readonly #clock: Clock;
  readonly #links: LinkPool;
  readonly #router: SignalingRouter;
  /** Provider and name records in the DHT; null without a ring. */
  readonly #records: ProviderRecords | null;
  /** Options for new links; the pool reads them at each new connection. */
  readonly #linkOptions: LinkOptions = {};
  #swarms = new Map<string, SwarmEntry>();
  #limits: { upload: RateLimiter; download: RateLimiter };
  #destroyed = false;

  constructor(options: ClientOptions) {
    super();
    const clock = options.clock ?? systemClock;
    const random = options.random ?? systemRandom;
    this.#clock = clock;
    this.#limits = {
      upload: new RateLimiter(() => clock.now()),
      download: new RateLimiter(() => clock.now()),
    };
    this.identity = options.identity ?? randomIdentity();
    this.peerId = this.identity.peerId;
    this.tracker = new TrackerClient(options.trackerUrl, this.identity, {
      clock,
      random,
      ...(options.createTrackerSocket ? { createSocket: options.createTrackerSocket } : {}),
    });
    if (options.wrtc) this.#linkOptions.wrtc = options.wrtc;
    if (options.iceServers) this.#linkOptions.iceServers = options.iceServers;
    this.#links = new LinkPool(
      {
        peerId: this.peerId,
        clock,
        createLink: options.createLink ?? createPeerLink,
        linkOptions: this.#linkOptions,
        isPointer: (peerId) => this.overlay?.isPointer(peerId) ?? false,
        // Handshakes name the discovery key; the few swarms of a client are looked through.
        swarmFor: (discoveryKey) => {
          const swarm = [...this.#swarms.values()].find((e) => e.swarm.discoveryKey === discoveryKey)?.swarm;
          return swarm ? { attach: (port, first) => swarm.addLink(port, first) } : null;
        },
        // A peer that may be a leaf (role 'auto') says HELLO only once it joined as a member.
        ringMember: () =>
          options.ring !== false && (this.overlay === null || this.overlay.role === 'member' || this.overlay.member),
      },
      options.maxLinks ?? MAX_LINKS,
    );
    this.#router = new SignalingRouter({ identity: this.identity, clock, links: this.#links, tracker: this.tracker });
    this.#router.on('warning', (err) => this.emit('warning', err));
    this.#links.on('overlay-frame', (from, frame) => this.#onOverlayFrame(from, frame));
    this.#links.on('link-close', (remoteId, code, discoveryKey, failed) => {
      if (failed) this.overlay?.linkFailed(remoteId);
      // A connection that never opened was no peer of its swarm, which hears no `peer-closed`.
      if (failed && discoveryKey !== null) {
        for (const entry of this.#swarms.values()) if (entry.swarm.discoveryKey === discoveryKey) this.#ifLonely(entry);
      }
      // A ring link to a node that died fails the same way; only swarm peers are worth a word.
      if (code === ErrorCode.NO_ROUTE && discoveryKey !== null && !this.#destroyed) {
        this.emit('warning', new RingswarmError(ErrorCode.NO_ROUTE, `peer ${remoteId}: ${NO_ROUTE_MESSAGE}`));
      }
    });
    this.overlay = options.ring === false ? null : this.#createOverlay(clock, random, options.ring);
    this.#records = this.overlay
      ? new ProviderRecords(this.overlay, this.identity, (err) => this.emit('warning', err))
      : null;
    if (this.overlay) this.#router.useRing(this.overlay);
    this.tracker.on('signal', ({ from, data }) => this.#router.handleSignal(from, data, 'tracker'));
    this.tracker.on('error', (err) => this.emit('warning', err));
    // After a reconnect (to the same tracker or, failing over, to another instance of its
    // cluster) announce every swarm again, and count this peer as a ring member again.
    this.tracker.on('connect', () => {
      for (const entry of this.#swarms.values()) entry.announcer?.start();
      if (this.overlay?.member) this.tracker.ringBootstrap(1).catch(() => {});
    });
    if (!options.holdRing) this.overlay?.start();
  }

  /** Joins the ring now (see `holdRing`); does nothing without a ring, or when already started. */
  startRing(): void {
    if (!this.#destroyed) this.overlay?.start();
  }

  #createOverlay(clock: Clock, random: () => number, ring: true | OverlayOptions | undefined): Overlay {
    const overlay = new Overlay(
      {
        peerId: this.peerId,
        clock,
        random,
        bootstrap: (k, member) => this.tracker.ringBootstrap(k, member),
        transport: {
          send: (peerId, frame) => this.#router.open(peerId, true)?.link.send(frame) ?? false,
          isOpen: (peerId) => this.#links.isOpen(peerId),
          hasLink: (peerId) => this.#links.get(peerId)?.link.destroyed === false,
          linked: () => this.#links.routablePeers(),
          connect: (peerId) => void this.#router.open(peerId, true),
          drop: (peerId, code) => this.#links.drop(peerId, code),
        },
      },
      ring === true || ring === undefined ? {} : ring,
    );
    overlay.on('warning', (err) => this.emit('warning', err));
    overlay.on('joined', () => {
      // A peer that may have been a leaf joined as a member: it routes now, and the tracker
      // names it to joiners from now on.
      if (overlay.role === 'auto' && overlay.member) {
        this.#links.announceMember();
        this.tracker.ringBootstrap(1).catch(() => {});
      }
      this.emit('ring-joined');
      for (const entry of this.#swarms.values()) {
        entry.providers?.publish();
        void entry.providers?.lookup();
      }
    });
    return overlay;
  }

  /** RING frames are the ring's, ROUTE frames the signaling router's; without a ring, neither is welcome. */
  #onOverlayFrame(from: string, frame: Uint8Array): void {
    if (!this.overlay) this.#links.drop(from, ErrorCode.BAD_FRAME);
    else if (frame[0] === OverlayFrameType.ROUTE) this.#router.handleRouteFrame(from, frame);
    else this.overlay.handleFrame(from, frame);
  }

  get swarms(): Swarm[] {
    return [...this.#swarms.values()].map((e) => e.swarm);
  }

  get linkCount(): number {
    return this.#links.size;
  }

  /** This peer's place in the ring; null without a ring. */
  ringStats(): RingStats | null {
    if (!this.overlay) return null;
    const ring = this.overlay.stats();
    const routing = this.#router.stats();
    return { ...ring, signals: routing.signals, peersDropped: ring.peersDropped + routing.peersDropped };
  }

  /** Peers that published the share `infoHash` in the DHT (under its discovery key). */
  findProviders(infoHash: string): Promise<string[]> {
    if (!this.#records) return Promise.reject(new Error('the ring is off (ring: false)'));
    if (!isInfoHash(infoHash)) return Promise.reject(new RingswarmError(ErrorCode.BAD_LINK, 'not an infohash'));
    return this.#records.findProviders(discoveryKeyOf(infoHash));
  }

  /**
   * Infohashes of public shares with a file of this exact name, found through the DHT;
   * `observer` watches the ring lookup of the name's key, hop by hop.
   */
  searchByName(name: string, observer?: RingLookupObserver): Promise<string[]> {
    if (!this.#records) return Promise.reject(new Error('the ring is off (ring: false)'));
    return this.#records.searchByName(name, observer);
  }

  /** Starts seeding a complete file set; private (found by its link only) unless `options.public`. */
  async seed(manifest: Manifest, store: PieceStore, have: Bitfield, options: SeedOptions = {}): Promise<Swarm> {
    const { mode = 'tracker', public: listed = false } = options;
    if (mode === 'dht' && !this.overlay) throw new RangeError('mode "dht" needs the ring (ring: false was given)');
    const infoHash = await infoHashOf(manifest);
    return this.#add(new Swarm(this.#swarmDeps(store), { infoHash, manifest, have }), mode, listed);
  }

  /**
   * Joins a swarm by infohash; the manifest is fetched from peers and verified. A download
   * never publishes names, even once complete: listing a share is its seeder's choice.
   */
  download(infoHash: string, store: PieceStore = new MemoryPieceStore(), options: SwarmCreateOptions = {}): Swarm {
    const { mode = 'tracker', ...swarmOptions } = options;
    if (swarmOptions.have && !swarmOptions.manifest) throw new RangeError('have needs the manifest');
    if (mode === 'dht' && !this.overlay) throw new RangeError('mode "dht" needs the ring (ring: false was given)');
    return this.#add(new Swarm(this.#swarmDeps(store), { infoHash, ...swarmOptions }), mode, false);
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
    return { peerId: this.peerId, store, clock: this.#clock, limits: this.#limits };
  }

  /** Leaves a swarm: tells the tracker and the DHT, closes its links, destroys it. */
  remove(infoHash: string): void {
    const entry = this.#swarms.get(infoHash);
    if (!entry) return;
    this.#swarms.delete(infoHash);
    entry.announcer?.stop();
    entry.providers?.stop();
    entry.swarm.destroy();
  }

  /** `listed`: publish the names of its files ({@link SeedOptions.public}). */
  #add(swarm: Swarm, mode: DiscoveryMode, listed: boolean): Swarm {
    const existing = this.#swarms.get(swarm.infoHash);
    if (existing) {
      swarm.destroy();
      return existing.swarm;
    }
    const connect = (remoteId: string) => this.#connect(remoteId, swarm);
    const warn = (err: Error) => this.emit('warning', err);
    const blocked = () => {
      if (!this.#destroyed) this.emit('blocked', swarm.infoHash);
    };
    const entry: SwarmEntry = {
      swarm,
      mode,
      announcer:
        mode === 'tracker'
          ? new SwarmAnnouncer({ clock: this.#clock, tracker: this.tracker, swarm, connect, warn, blocked })
          : null,
      providers: this.#records
        ? new SwarmProviders({ clock: this.#clock, records: this.#records, swarm, public: listed, connect, warn })
        : null,
    };
    this.#swarms.set(swarm.infoHash, entry);
    swarm.on('done', () => {
      entry.providers?.publish();
      entry.announcer?.complete();
    });
    swarm.on('warning', (err, remoteId) =>
      this.emit('warning', new Error(`peer ${remoteId}: ${err.code} ${err.message}`)),
    );
    swarm.on('error', (err) => this.emit('warning', err));
    swarm.on('peer-closed', () => this.#ifLonely(entry));
    entry.announcer?.start();
    entry.providers?.publish();
    void entry.providers?.lookup();
    return swarm;
  }

  /**
   * A download left with no peer (its last one closed, or the connection it waited on never
   * opened) asks the tracker and the DHT again soon, not at the tracker's interval.
   */
  #ifLonely(entry: SwarmEntry): void {
    const swarm = entry.swarm;
    if (this.#destroyed || swarm.done || swarm.peerIds.length > 0) return;
    entry.announcer?.announceIn(LONELY_ANNOUNCE_MS);
    entry.providers?.lookupIn(LONELY_LOOKUP_MS);
  }

  /** Opens (or reuses) a link to a peer for one swarm. */
  #connect(remoteId: string, swarm: Swarm): void {
    if (remoteId === this.peerId || swarm.peerIds.includes(remoteId)) return;
    const entry = this.#router.open(remoteId, false);
    if (!entry) return;
    this.#links.attach(entry, swarm.discoveryKey, (port: SwarmPort) => swarm.addLink(port));
  }

  /**
   * Opens a link to a peer ahead of need (a ring member, a provider found in the DHT),
   * signaled through the ring or the tracker (default: the ring once this peer has joined
   * it, with the tracker as fallback). Resolves with the connection's setup time in ms (0
   * when a link was already open); rejects with the close code when it fails.
   */
  connect(peerId: string, options: { via?: SignalPath } = {}): Promise<number> {
    const entry = this.#router.open(peerId, false, options.via);
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
    this.#router.destroy();
    this.#links.destroy();
    // Let the 'stopped' announces leave before the socket closes.
    this.#clock.setTimeout(() => this.tracker.destroy(), 0);
    this.emit('close');
    this.removeAllListeners();
  }
}
