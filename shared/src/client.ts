/**
 * RingswarmClient: one peer's wiring of tracker, peer links and swarms. The web client and
 * Node peers both use it; neither talks to simple-peer or socket.io directly.
 */
import { randomBytes, toHex } from './bytes.js';
import { systemClock } from './clock.js';
import { Emitter } from './emitter.js';
import { PeerLink } from './net/peer-link.js';
import { TrackerClient } from './net/tracker-client.js';
import { ErrorCode, type RingswarmError } from './protocol/errors.js';
import type { AnnounceEvent } from './protocol/tracker.js';
import type { Bitfield } from './swarm/bitfield.js';
import { infoHashOf, type Manifest } from './swarm/manifest.js';
import { MemoryPieceStore, type PieceStore } from './swarm/piece-store.js';
import { RateLimiter } from './swarm/rate-limiter.js';
import { type RateLimits, Swarm } from './swarm/swarm.js';
import { decodeMessage } from './swarm/wire.js';

/** Peers asked for in each announce. */
export const NUMWANT = 30;
/** Announce again this soon while a download has no peer, instead of the tracker's interval. */
export const LONELY_ANNOUNCE_MS = 3_000;
/** Upper bound on live WebRTC connections held by one client. */
export const MAX_LINKS = 32;

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
}

export interface SwarmCreateOptions {
  /** Download pieces in order (streaming). */
  sequential?: boolean;
  /** A manifest already known (resume); it must hash to the infohash. */
  manifest?: Manifest;
  /** Pieces already held and verified (resume); requires `manifest`. */
  have?: Bitfield;
}

export type ClientEvents = {
  /** A non-fatal problem: a tracker error, a misbehaving peer. */
  warning: [error: Error];
  close: [];
};

interface SwarmEntry {
  swarm: Swarm;
  timer: ReturnType<typeof setTimeout> | undefined;
  stopped: boolean;
  /** Finished, and no tracker has acknowledged a `completed` announce yet (e.g. mid-failover). */
  completionUnsent: boolean;
}

export class RingswarmClient extends Emitter<ClientEvents> {
  readonly peerId: string;
  readonly tracker: TrackerClient;
  #options: ClientOptions;
  #swarms = new Map<string, SwarmEntry>();
  #links = new Map<string, PeerLink>();
  #limits = {
    upload: new RateLimiter(() => systemClock.now()),
    download: new RateLimiter(() => systemClock.now()),
  };
  #destroyed = false;

  constructor(options: ClientOptions) {
    super();
    this.#options = options;
    this.peerId = options.peerId ?? toHex(randomBytes(20));
    this.tracker = new TrackerClient(options.trackerUrl, this.peerId);
    this.tracker.on('signal', ({ from, data }) => this.#onSignal(from, data));
    this.tracker.on('error', (err) => this.emit('warning', err));
    // After a reconnect (to the same tracker or, failing over, to another instance of its
    // cluster) announce every swarm again.
    this.tracker.on('connect', () => {
      for (const [infoHash, entry] of this.#swarms) if (!entry.stopped) void this.#announce(infoHash, 'started');
    });
  }

  get swarms(): Swarm[] {
    return [...this.#swarms.values()].map((e) => e.swarm);
  }

  get linkCount(): number {
    return this.#links.size;
  }

  /** Starts seeding a complete file set. */
  async seed(manifest: Manifest, store: PieceStore, have: Bitfield): Promise<Swarm> {
    const infoHash = await infoHashOf(manifest);
    return this.#add(new Swarm(this.#swarmDeps(store), { infoHash, manifest, have }));
  }

  /** Joins a swarm by infohash; the manifest is fetched from peers and verified. */
  download(infoHash: string, store: PieceStore = new MemoryPieceStore(), options: SwarmCreateOptions = {}): Swarm {
    if (options.have && !options.manifest) throw new RangeError('have needs the manifest');
    return this.#add(new Swarm(this.#swarmDeps(store), { infoHash, ...options }));
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

  /** Leaves a swarm: tells the tracker, closes its links, destroys it. */
  remove(infoHash: string): void {
    const entry = this.#swarms.get(infoHash);
    if (!entry) return;
    entry.stopped = true;
    clearTimeout(entry.timer);
    this.#swarms.delete(infoHash);
    void this.#announceOnce(entry.swarm, 'stopped').catch(() => {});
    entry.swarm.destroy();
  }

  #add(swarm: Swarm): Swarm {
    const existing = this.#swarms.get(swarm.infoHash);
    if (existing) {
      swarm.destroy();
      return existing.swarm;
    }
    const entry: SwarmEntry = { swarm, timer: undefined, stopped: false, completionUnsent: false };
    this.#swarms.set(swarm.infoHash, entry);
    swarm.on('done', () => {
      entry.completionUnsent = true;
      void this.#announce(swarm.infoHash, 'completed');
    });
    swarm.on('warning', (err, remoteId) =>
      this.emit('warning', new Error(`peer ${remoteId}: ${err.code} ${err.message}`)),
    );
    swarm.on('error', (err) => this.emit('warning', err));
    swarm.on('peer-closed', () => {
      if (!swarm.done && swarm.peerIds.length === 0) this.#schedule(entry, LONELY_ANNOUNCE_MS);
    });
    void this.#announce(swarm.infoHash, 'started');
    return swarm;
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

  /** Opens a link to a peer the tracker named, for one swarm. */
  #connect(remoteId: string, swarm: Swarm): void {
    if (remoteId === this.peerId || this.#links.has(remoteId) || this.#links.size >= MAX_LINKS) return;
    const link = this.#newLink(remoteId, true);
    link.once('connect', () => swarm.addLink(link));
  }

  #newLink(remoteId: string, initiator: boolean): PeerLink {
    const options: ConstructorParameters<typeof PeerLink>[1] = { initiator };
    if (this.#options.wrtc) options.wrtc = this.#options.wrtc;
    if (this.#options.iceServers) options.iceServers = this.#options.iceServers;
    const link = new PeerLink(remoteId, options);
    this.#links.set(remoteId, link);
    link.on('signal', (data) => {
      this.tracker.signal(remoteId, data).catch((err: Error) => {
        this.emit('warning', err);
        link.close((err as RingswarmError).code);
      });
    });
    link.once('close', () => {
      if (this.#links.get(remoteId) === link) this.#links.delete(remoteId);
    });
    return link;
  }

  #onSignal(from: string, data: Record<string, unknown>): void {
    if (this.#destroyed) return;
    const existing = this.#links.get(from);
    const isOffer = data.type === 'offer';
    if (existing && !(isOffer && existing.initiator && !existing.connected)) {
      existing.signal(data);
      return;
    }
    if (!isOffer) return;
    if (existing) {
      // Both sides offered at once: the lower peer ID keeps its offer, the other yields.
      if (this.peerId < from) return;
      existing.close();
    }
    if (this.#links.size >= MAX_LINKS) return;
    const link = this.#newLink(from, false);
    // The opener speaks first: its handshake names the swarm this link is for.
    const onFirstFrame = (frame: Uint8Array) => {
      link.off('frame', onFirstFrame);
      let swarm: Swarm | undefined;
      try {
        const msg = decodeMessage(frame);
        if (msg.type === 'handshake') swarm = this.#swarms.get(msg.infoHash)?.swarm;
      } catch {
        // fall through: not a handshake
      }
      if (swarm) swarm.addLink(link, frame);
      else link.close(ErrorCode.BAD_HANDSHAKE);
    };
    link.on('frame', onFirstFrame);
    link.signal(data);
  }

  /** Leaves every swarm, closes every link and the tracker connection. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    for (const infoHash of [...this.#swarms.keys()]) this.remove(infoHash);
    this.#destroyed = true;
    for (const link of [...this.#links.values()]) link.close();
    this.#links.clear();
    // Let the 'stopped' announces leave before the socket closes.
    setTimeout(() => this.tracker.destroy(), 0);
    this.emit('close');
    this.removeAllListeners();
  }
}
