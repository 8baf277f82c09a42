/**
 * Who is in which swarm. Same shape as a socket.io adapter: two maps of IDs, and never a
 * live socket (bittorrent-tracker's swarms hold sockets; ours hold peer IDs only).
 * {@link SwarmRegistry} is the plug point: {@link MemorySwarmRegistry} here (one process,
 * the default) or `RedisSwarmRegistry` (./redis-registry.ts, several instances as one
 * tracker). Both pass one contract suite (test/integration/swarm-registry.contract.ts).
 */
import type { SwarmCounts } from '@ringswarm/shared/protocol';
import { RingMembers } from './ring-members.js';

export type { SwarmCounts };

/** Totals over every swarm (cluster-wide for a shared registry). */
export interface RegistryTotals {
  /** Swarms with at least one peer. */
  swarms: number;
  /** Peers in at least one swarm. */
  peers: number;
  /** Swarm memberships with the whole file. */
  seeders: number;
  /** Swarm memberships still downloading. */
  leechers: number;
}

/** What an announce that was accepted gets back. */
export interface AnnounceOutcome {
  /** Up to `numwant` other members, chosen at random. */
  peers: string[];
  /** The swarm's counts after the announce. */
  counts: SwarmCounts;
}

/** One tracker instance's own figures, as it last published them. */
export interface InstanceInfo {
  /** Random per process. */
  id: string;
  /** Open socket.io connections on this instance. */
  connections: number;
  /** Ring members connected to this instance. */
  ringMembers: number;
}

/**
 * The swarm registry every handler talks to. Methods are async so that a shared store can
 * sit behind them; none of them sees a socket.
 */
export interface SwarmRegistry {
  /**
   * Adds or updates a peer at time `now`; `completed` counts a finished download once.
   * Resolves false (and changes nothing) when the peer would exceed `maxSwarms`.
   */
  upsert(
    infoHash: string,
    peerId: string,
    state: PeerState,
    completed: boolean,
    now: number,
    maxSwarms?: number,
  ): Promise<boolean>;
  /**
   * A whole announce at once (one round trip for a shared registry): {@link upsert}, then
   * {@link sample} and {@link counts}. Resolves null (and changes nothing) when refused.
   */
  announce(
    infoHash: string,
    peerId: string,
    state: PeerState,
    completed: boolean,
    now: number,
    numwant: number,
    random: () => number,
    maxSwarms?: number,
  ): Promise<AnnounceOutcome | null>;
  remove(infoHash: string, peerId: string): Promise<void>;
  /**
   * Records that `peerId` is connected to this tracker instance through socket `socketId` (it
   * owns the peer from now on), in one atomic step with reading the previous owner. Resolves
   * with the previous owner's socket ID when that socket is on another live instance (the
   * caller closes it through the adapter), else null. Only call it for a socket that proved
   * the peer ID's key: the claim takes the ID over.
   */
  claim(peerId: string, socketId: string): Promise<string | null>;
  /**
   * The peer disconnected from this instance: it leaves every swarm, unless another
   * instance has claimed it since (it failed over); then nothing changes.
   */
  release(peerId: string): Promise<void>;
  /** True while some tracker instance holds a connection claimed by `peerId`. */
  isOnline(peerId: string): Promise<boolean>;
  /**
   * Counts the peer as a ring member (a bootstrap candidate) until it is released, and
   * resolves with up to `k` other live members chosen at random, as {@link sampleRing} would
   * have just before, in one atomic step: of peers joining at the same moment anywhere in a
   * cluster, only the first hears of no member (and creates the ring); a sample followed by a
   * separate add let two of them both hear of none, and make two rings that never merge.
   */
  joinRing(peerId: string, k: number, random: () => number): Promise<string[]>;
  /** Up to `k` distinct live ring members other than `except`, chosen at random. */
  sampleRing(except: string, k: number, random: () => number): Promise<string[]>;
  /** True when both peers are live ring members (they may signal each other). */
  bothInRing(a: string, b: string): Promise<boolean>;
  /**
   * Drops memberships last announced before `before`, oldest first, at most `limit` of them
   * (default all); resolves with how many. The work is bounded by `limit`, not by the number
   * of memberships: the expiry sweep calls it with a slice per tick.
   */
  expire(before: number, limit?: number): Promise<number>;
  counts(infoHash: string): Promise<SwarmCounts>;
  /** Up to `count` distinct peers of the swarm other than `except`, chosen at random. */
  sample(infoHash: string, except: string, count: number, random: () => number): Promise<string[]>;
  /** True when both peers are in at least one common swarm. */
  shareSwarm(a: string, b: string): Promise<boolean>;
  totals(): Promise<RegistryTotals>;
  /** Every swarm with its counts. */
  swarms(): Promise<[string, SwarmCounts][]>;
  /** Publishes this instance's figures (a heartbeat: a shared registry forgets a silent instance). */
  publishInstance(info: InstanceInfo): Promise<void>;
  /** The figures of every live instance, by ID (just this one for an in-memory registry). */
  instances(): Promise<InstanceInfo[]>;
  /** Releases what the registry holds (connections, timers). Idempotent. */
  destroy(): Promise<void>;
}

export interface PeerState {
  /** Bytes the peer still misses; null before it has the manifest. 0 = seeder. */
  left: number | null;
}

interface Member {
  readonly infoHash: string;
  readonly peerId: string;
  seeder: boolean;
  /** Clock reading of the member's last announce. */
  seen: number;
}

interface SwarmState {
  peers: Map<string, Member>;
  complete: number;
  /** How many times a peer finished downloading in this swarm. */
  downloaded: number;
}

/**
 * The in-memory registry: one process. Seeder and leecher totals are kept as counters, so
 * metrics never walk the swarms. Synchronous inside; the async face is {@link SwarmRegistry}'s.
 */
export class MemorySwarmRegistry implements SwarmRegistry {
  #swarms = new Map<string, SwarmState>();
  #peerSwarms = new Map<string, Set<string>>();
  /**
   * Every membership, in the order of its last announce: an announce moves it to the end, so
   * the oldest are at the front and {@link expire} walks only those it drops (plus one). The
   * member records themselves are the keys (no string to build or hash per announce). Clock
   * readings are taken to grow; one that went back leaves a membership behind newer ones
   * until those are gone.
   */
  #byAge = new Set<Member>();
  #online = new Set<string>();
  #ring = new RingMembers();
  #instance: InstanceInfo | undefined;
  #seeders = 0;
  #leechers = 0;

  async upsert(
    infoHash: string,
    peerId: string,
    state: PeerState,
    completed: boolean,
    now: number,
    maxSwarms = Infinity,
  ): Promise<boolean> {
    return this.#upsert(infoHash, peerId, state, completed, now, maxSwarms);
  }

  async announce(
    infoHash: string,
    peerId: string,
    state: PeerState,
    completed: boolean,
    now: number,
    numwant: number,
    random: () => number,
    maxSwarms = Infinity,
  ): Promise<AnnounceOutcome | null> {
    if (!this.#upsert(infoHash, peerId, state, completed, now, maxSwarms)) return null;
    return { peers: this.#sample(infoHash, peerId, numwant, random), counts: this.#counts(infoHash) };
  }

  #upsert(
    infoHash: string,
    peerId: string,
    state: PeerState,
    completed: boolean,
    now: number,
    maxSwarms = Infinity,
  ): boolean {
    const swarms = this.#peerSwarms.get(peerId);
    if (!swarms?.has(infoHash) && (swarms?.size ?? 0) >= maxSwarms) return false;
    let swarm = this.#swarms.get(infoHash);
    if (!swarm) {
      swarm = { peers: new Map(), complete: 0, downloaded: 0 };
      this.#swarms.set(infoHash, swarm);
    }
    const previous = swarm.peers.get(peerId);
    const seeder = state.left === 0;
    if (previous) this.#count(swarm, previous.seeder, -1);
    this.#count(swarm, seeder, +1);
    if (completed && previous && !previous.seeder && seeder) swarm.downloaded++;
    if (previous) {
      previous.seeder = seeder;
      previous.seen = now;
      this.#byAge.delete(previous);
      this.#byAge.add(previous);
    } else {
      const member: Member = { infoHash, peerId, seeder, seen: now };
      swarm.peers.set(peerId, member);
      this.#byAge.add(member);
    }
    if (swarms) swarms.add(infoHash);
    else this.#peerSwarms.set(peerId, new Set([infoHash]));
    return true;
  }

  #count(swarm: SwarmState, seeder: boolean, delta: 1 | -1): void {
    if (seeder) {
      swarm.complete += delta;
      this.#seeders += delta;
    } else {
      this.#leechers += delta;
    }
  }

  async remove(infoHash: string, peerId: string): Promise<void> {
    this.#remove(infoHash, peerId);
  }

  #remove(infoHash: string, peerId: string): void {
    const swarm = this.#swarms.get(infoHash);
    const previous = swarm?.peers.get(peerId);
    if (!swarm || !previous) return;
    this.#count(swarm, previous.seeder, -1);
    swarm.peers.delete(peerId);
    this.#byAge.delete(previous);
    if (swarm.peers.size === 0) this.#swarms.delete(infoHash);
    const swarms = this.#peerSwarms.get(peerId);
    swarms?.delete(infoHash);
    if (swarms?.size === 0) this.#peerSwarms.delete(peerId);
  }

  async claim(peerId: string, _socketId: string): Promise<string | null> {
    // One process: a previous socket is the tracker's own, and it replaces that itself.
    this.#online.add(peerId);
    return null;
  }

  async release(peerId: string): Promise<void> {
    this.#online.delete(peerId);
    this.#ring.remove(peerId);
    for (const infoHash of [...(this.#peerSwarms.get(peerId) ?? [])]) this.#remove(infoHash, peerId);
  }

  async isOnline(peerId: string): Promise<boolean> {
    return this.#online.has(peerId);
  }

  async joinRing(peerId: string, k: number, random: () => number): Promise<string[]> {
    const peers = this.#ring.sample(peerId, k, random);
    this.#ring.add(peerId);
    return peers;
  }

  async sampleRing(except: string, k: number, random: () => number): Promise<string[]> {
    return this.#ring.sample(except, k, random);
  }

  async bothInRing(a: string, b: string): Promise<boolean> {
    return this.#ring.has(a) && this.#ring.has(b);
  }

  async expire(before: number, limit = Infinity): Promise<number> {
    let dropped = 0;
    // Deleting the entry being visited is safe while iterating a Set.
    for (const member of this.#byAge) {
      if (dropped >= limit || member.seen >= before) break;
      this.#remove(member.infoHash, member.peerId);
      dropped++;
    }
    return dropped;
  }

  /** Memberships held (every swarm's members summed). */
  get memberships(): number {
    return this.#byAge.size;
  }

  async counts(infoHash: string): Promise<SwarmCounts> {
    return this.#counts(infoHash);
  }

  #counts(infoHash: string): SwarmCounts {
    const swarm = this.#swarms.get(infoHash);
    if (!swarm) return { complete: 0, incomplete: 0, downloaded: 0 };
    return { complete: swarm.complete, incomplete: swarm.peers.size - swarm.complete, downloaded: swarm.downloaded };
  }

  /** Up to `count` peers of the swarm other than `except`, chosen uniformly at random. */
  async sample(infoHash: string, except: string, count: number, random: () => number): Promise<string[]> {
    return this.#sample(infoHash, except, count, random);
  }

  #sample(infoHash: string, except: string, count: number, random: () => number): string[] {
    const peers = this.#swarms.get(infoHash)?.peers;
    if (!peers || count <= 0) return [];
    const ids = [...peers.keys()];
    const self = ids.indexOf(except);
    if (self >= 0) {
      ids[self] = ids[ids.length - 1]!;
      ids.pop();
    }
    // Partial Fisher-Yates: only the first `count` positions are shuffled.
    const n = Math.min(count, ids.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(random() * (ids.length - i));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    ids.length = n;
    return ids;
  }

  async shareSwarm(a: string, b: string): Promise<boolean> {
    const mine = this.#peerSwarms.get(a);
    const theirs = this.#peerSwarms.get(b);
    if (!mine || !theirs) return false;
    const [small, large] = mine.size <= theirs.size ? [mine, theirs] : [theirs, mine];
    for (const infoHash of small) if (large.has(infoHash)) return true;
    return false;
  }

  async totals(): Promise<RegistryTotals> {
    return {
      swarms: this.#swarms.size,
      peers: this.#peerSwarms.size,
      seeders: this.#seeders,
      leechers: this.#leechers,
    };
  }

  async swarms(): Promise<[string, SwarmCounts][]> {
    return [...this.#swarms.keys()].map((infoHash) => [infoHash, this.#counts(infoHash)]);
  }

  async publishInstance(info: InstanceInfo): Promise<void> {
    this.#instance = { ...info };
  }

  async instances(): Promise<InstanceInfo[]> {
    return this.#instance ? [{ ...this.#instance }] : [];
  }

  async destroy(): Promise<void> {}
}
