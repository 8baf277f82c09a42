/**
 * Who is in which swarm. Same shape as a socket.io adapter: two maps of IDs, and never a
 * live socket (bittorrent-tracker's swarms hold sockets; ours hold peer IDs only).
 * Seeder and leecher totals are kept as counters, so metrics never walk the swarms.
 */
import type { SwarmCounts } from '@ringswarm/shared';

export type { SwarmCounts };

export interface PeerState {
  /** Bytes the peer still misses; null before it has the manifest. 0 = seeder. */
  left: number | null;
}

interface Member {
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

export class SwarmRegistry {
  #swarms = new Map<string, SwarmState>();
  #peerSwarms = new Map<string, Set<string>>();
  #seeders = 0;
  #leechers = 0;

  /**
   * Adds or updates a peer at time `now`; `completed` counts a finished download once.
   * Returns false (and changes nothing) when the peer would exceed `maxSwarms`.
   */
  upsert(
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
    swarm.peers.set(peerId, { seeder, seen: now });
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

  remove(infoHash: string, peerId: string): void {
    const swarm = this.#swarms.get(infoHash);
    const previous = swarm?.peers.get(peerId);
    if (!swarm || !previous) return;
    this.#count(swarm, previous.seeder, -1);
    swarm.peers.delete(peerId);
    if (swarm.peers.size === 0) this.#swarms.delete(infoHash);
    const swarms = this.#peerSwarms.get(peerId);
    swarms?.delete(infoHash);
    if (swarms?.size === 0) this.#peerSwarms.delete(peerId);
  }

  /** Removes a peer from every swarm it is in. */
  removePeer(peerId: string): void {
    for (const infoHash of [...(this.#peerSwarms.get(peerId) ?? [])]) this.remove(infoHash, peerId);
  }

  /** Drops every membership last announced before `before`; returns how many. */
  expire(before: number): number {
    let dropped = 0;
    for (const [infoHash, swarm] of [...this.#swarms]) {
      for (const [peerId, member] of [...swarm.peers]) {
        if (member.seen < before) {
          this.remove(infoHash, peerId);
          dropped++;
        }
      }
    }
    return dropped;
  }

  counts(infoHash: string): SwarmCounts {
    const swarm = this.#swarms.get(infoHash);
    if (!swarm) return { complete: 0, incomplete: 0, downloaded: 0 };
    return { complete: swarm.complete, incomplete: swarm.peers.size - swarm.complete, downloaded: swarm.downloaded };
  }

  /** Up to `count` peers of the swarm other than `except`, chosen uniformly at random. */
  sample(infoHash: string, except: string, count: number, random: () => number): string[] {
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

  /** True when both peers are in at least one common swarm. */
  shareSwarm(a: string, b: string): boolean {
    const mine = this.#peerSwarms.get(a);
    const theirs = this.#peerSwarms.get(b);
    if (!mine || !theirs) return false;
    const [small, large] = mine.size <= theirs.size ? [mine, theirs] : [theirs, mine];
    for (const infoHash of small) if (large.has(infoHash)) return true;
    return false;
  }

  swarmCount(): number {
    return this.#swarms.size;
  }

  /** Peers in at least one swarm. */
  peerCount(): number {
    return this.#peerSwarms.size;
  }

  seederCount(): number {
    return this.#seeders;
  }

  leecherCount(): number {
    return this.#leechers;
  }

  *swarms(): IterableIterator<[string, SwarmCounts]> {
    for (const infoHash of this.#swarms.keys()) yield [infoHash, this.counts(infoHash)];
  }
}
