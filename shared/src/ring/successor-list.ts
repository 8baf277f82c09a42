/**
 * The successor list of one node: the next r nodes clockwise, nearest first. The seed's
 * "know two successors" is the floor (r >= 2); Chord's correctness argument needs r =
 * O(log N) to survive many simultaneous failures.
 */
import type { RingSpace } from './id.js';

/** Successor-list length by default. */
export const RING_DEFAULT_SUCCESSORS = 8;
/** The seed's two successors: the shortest list the ring accepts. */
export const RING_MIN_SUCCESSORS = 2;

export class SuccessorList {
  readonly #space: RingSpace;
  readonly #owner: bigint;
  readonly capacity: number;
  #nodes: bigint[] = [];

  constructor(space: RingSpace, owner: bigint, capacity: number = RING_DEFAULT_SUCCESSORS) {
    if (!Number.isInteger(capacity) || capacity < RING_MIN_SUCCESSORS) {
      throw new RangeError(`successor list length must be an integer >= ${RING_MIN_SUCCESSORS}`);
    }
    this.#space = space;
    this.#owner = owner;
    this.capacity = capacity;
  }

  /** The nearest successor, or null when this node knows no other. */
  get first(): bigint | null {
    return this.#nodes[0] ?? null;
  }

  get last(): bigint | null {
    return this.#nodes[this.#nodes.length - 1] ?? null;
  }

  get length(): number {
    return this.#nodes.length;
  }

  /** A copy of the entries, nearest first. */
  toArray(): bigint[] {
    return [...this.#nodes];
  }

  has(id: bigint): boolean {
    return this.#nodes.includes(id);
  }

  at(index: number): bigint | undefined {
    return this.#nodes[index];
  }

  /**
   * Replaces the entries: drops the owner and duplicates, orders them clockwise from the
   * owner and keeps the nearest `capacity`. Returns true when the list changed.
   */
  replace(nodes: Iterable<bigint>): boolean {
    const seen = new Set<bigint>();
    const keyed: { id: bigint; d: bigint }[] = [];
    for (const id of nodes) {
      if (id === this.#owner || seen.has(id)) continue;
      seen.add(id);
      keyed.push({ id, d: this.#space.distance(this.#owner, id) });
    }
    keyed.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
    const next = keyed.slice(0, this.capacity).map((k) => k.id);
    const changed = next.length !== this.#nodes.length || next.some((id, i) => id !== this.#nodes[i]);
    this.#nodes = next;
    return changed;
  }

  /**
   * The possible owners of `key` when it falls in the first half of the list, so that at
   * least half the list remains as backups should the first ones have failed unnoticed.
   */
  confidentOwnersOf(key: bigint): bigint[] {
    return this.ownersOf(key, Math.ceil(this.#nodes.length / 2) - 1);
  }

  /** Removes one entry; returns true when it was there. */
  remove(id: bigint): boolean {
    const i = this.#nodes.indexOf(id);
    if (i < 0) return false;
    this.#nodes.splice(i, 1);
    return true;
  }

  /** True when `key` lies in (owner, last entry]: the list alone names its owner. */
  covers(key: bigint): boolean {
    const last = this.last;
    return last !== null && this.#space.betweenRight(key, this.#owner, last);
  }

  /**
   * The entries that may own `key`, best first: from the first entry e with key in
   * (owner, e] to the end of the list. Empty when the list does not cover the key, or
   * when e lies beyond entry `within` (its tail of backups would be too short).
   */
  ownersOf(key: bigint, within: number = this.#nodes.length - 1): bigint[] {
    for (let i = 0; i <= within && i < this.#nodes.length; i++) {
      const e = this.#nodes[i]!;
      if (this.#space.betweenRight(key, this.#owner, e)) return this.#nodes.slice(i);
    }
    return [];
  }
}
