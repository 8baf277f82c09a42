/**
 * Live ring members: connected peers that asked for `ring:bootstrap`. The tracker hands a
 * few of them to each newcomer (the seed's "well-known peers"). An array plus an index map
 * gives O(1) add, remove and random pick.
 */
export class RingMembers {
  #ids: string[] = [];
  #index = new Map<string, number>();

  add(peerId: string): void {
    if (this.#index.has(peerId)) return;
    this.#index.set(peerId, this.#ids.length);
    this.#ids.push(peerId);
  }

  remove(peerId: string): void {
    const i = this.#index.get(peerId);
    if (i === undefined) return;
    const last = this.#ids.pop()!;
    if (last !== peerId) {
      this.#ids[i] = last;
      this.#index.set(last, i);
    }
    this.#index.delete(peerId);
  }

  has(peerId: string): boolean {
    return this.#index.has(peerId);
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Up to `k` distinct members other than `except`, chosen uniformly at random. */
  sample(except: string, k: number, random: () => number): string[] {
    const picked = new Set<string>();
    const available = this.#ids.length - (this.#index.has(except) ? 1 : 0);
    const want = Math.min(k, available);
    // Rejection sampling is cheap while k is far below the member count; walk otherwise.
    if (want * 4 < this.#ids.length) {
      while (picked.size < want) {
        const id = this.#ids[Math.floor(random() * this.#ids.length)]!;
        if (id !== except) picked.add(id);
      }
      return [...picked];
    }
    const start = Math.floor(random() * Math.max(1, this.#ids.length));
    for (let n = 0; n < this.#ids.length && picked.size < want; n++) {
      const id = this.#ids[(start + n) % this.#ids.length]!;
      if (id !== except) picked.add(id);
    }
    return [...picked];
  }

  /** Up to `k` members that precede `id` on the ring, the closest first, never `id` itself. */
  preceding(id: string, k: number): string[] {
    const { others, lo } = this.#around(id);
    const out: string[] = [];
    for (let i = 1; i <= Math.min(k, others.length); i++) out.push(others[(lo - i + others.length) % others.length]!);
    return out;
  }

  /**
   * Up to `perSide` members that follow `id` on the ring and up to `perSide` that precede it
   * (IDs are equal-length hex, so string order is ring order), never `id` itself: the
   * successors and predecessors a peer joining at `id` will link to. O(n log n), once per join.
   */
  nearest(id: string, perSide: number): string[] {
    const { others, lo } = this.#around(id);
    if (others.length <= 2 * perSide) return others;
    const out: string[] = [];
    for (let i = 0; i < perSide; i++) {
      out.push(others[(lo + i) % others.length]!);
      out.push(others[(lo - 1 - i + others.length) % others.length]!);
    }
    return out;
  }

  /** The other members in ring order, and where `id` would stand among them (the first one after it). */
  #around(id: string): { others: string[]; lo: number } {
    const others = this.#ids.filter((x) => x !== id).sort();
    let lo = 0;
    let hi = others.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (others[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return { others, lo };
  }
}
