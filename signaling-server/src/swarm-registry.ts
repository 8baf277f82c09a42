/**
 * Who is in which swarm. Same shape as a socket.io adapter: two maps of IDs, and never a
 * live socket (bittorrent-tracker's swarms hold sockets; ours hold peer IDs only).
 */

export interface PeerState {
  /** Bytes the peer still misses; null before it has the manifest. 0 = seeder. */
  left: number | null;
}

interface SwarmState {
  peers: Map<string, PeerState>;
  complete: number;
  /** How many times a peer finished downloading in this swarm. */
  downloaded: number;
}

export interface SwarmCounts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

export class SwarmRegistry {
  #swarms = new Map<string, SwarmState>();
  #peerSwarms = new Map<string, Set<string>>();

  /** Adds or updates a peer; `completed` counts a finished download once. */
  upsert(infoHash: string, peerId: string, state: PeerState, completed: boolean): void {
    let swarm = this.#swarms.get(infoHash);
    if (!swarm) {
      swarm = { peers: new Map(), complete: 0, downloaded: 0 };
      this.#swarms.set(infoHash, swarm);
    }
    const previous = swarm.peers.get(peerId);
    if (previous?.left === 0) swarm.complete--;
    if (state.left === 0) swarm.complete++;
    if (completed && previous && previous.left !== 0 && state.left === 0) swarm.downloaded++;
    swarm.peers.set(peerId, { left: state.left });
    let swarms = this.#peerSwarms.get(peerId);
    if (!swarms) {
      swarms = new Set();
      this.#peerSwarms.set(peerId, swarms);
    }
    swarms.add(infoHash);
  }

  remove(infoHash: string, peerId: string): void {
    const swarm = this.#swarms.get(infoHash);
    const previous = swarm?.peers.get(peerId);
    if (!swarm || !previous) return;
    if (previous.left === 0) swarm.complete--;
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

  counts(infoHash: string): SwarmCounts {
    const swarm = this.#swarms.get(infoHash);
    if (!swarm) return { complete: 0, incomplete: 0, downloaded: 0 };
    return { complete: swarm.complete, incomplete: swarm.peers.size - swarm.complete, downloaded: swarm.downloaded };
  }

  /** Up to `count` peers of the swarm other than `except`, chosen uniformly at random. */
  sample(infoHash: string, except: string, count: number, random: () => number): string[] {
    const peers = this.#swarms.get(infoHash)?.peers;
    if (!peers || count <= 0) return [];
    const ids = [...peers.keys()].filter((id) => id !== except);
    // Partial Fisher-Yates: only the first `count` positions are shuffled.
    const n = Math.min(count, ids.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(random() * (ids.length - i));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    return ids.slice(0, n);
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

  peerCount(): number {
    return this.#peerSwarms.size;
  }

  *swarms(): IterableIterator<[string, SwarmCounts]> {
    for (const infoHash of this.#swarms.keys()) yield [infoHash, this.counts(infoHash)];
  }
}
