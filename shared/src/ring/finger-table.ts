/**
 * Fingers: finger[i] = successor(id + 2^i). Only indexes whose start lies beyond the
 * successor list are worth a lookup (the others are answered by the list itself), so
 * the table is sparse. Each finger keeps the next few nodes after it as backups (they
 * come free with the lookup that found it): when the finger dies, its successor is the
 * new successor(id + 2^i), and routing does not lose the shortcut.
 */
import type { RingSpace } from './id.js';

/** Backups kept per finger by default. */
export const RING_FINGER_BACKUPS = 3;

export interface RingFinger {
  index: number;
  node: bigint;
  /** The nodes after `node`, nearest first. */
  backups: bigint[];
}

export class FingerTable {
  readonly #space: RingSpace;
  readonly #owner: bigint;
  readonly #backups: number;
  #entries = new Map<number, { node: bigint; backups: bigint[] }>();

  constructor(space: RingSpace, owner: bigint, backups: number = RING_FINGER_BACKUPS) {
    this.#space = space;
    this.#owner = owner;
    this.#backups = backups;
  }

  get(index: number): bigint | undefined {
    return this.#entries.get(index)?.node;
  }

  /** Sets finger `index` (0 <= index < m); a pointer to the owner itself clears it. */
  set(index: number, node: bigint, backups: readonly bigint[] = []): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.#space.bits) {
      throw new RangeError(`finger index must be in 0..${this.#space.bits - 1}`);
    }
    if (node === this.#owner) {
      this.#entries.delete(index);
      return;
    }
    const kept = backups.filter((b) => b !== node && b !== this.#owner).slice(0, this.#backups);
    this.#entries.set(index, { node, backups: kept });
  }

  /** Forgets `node` (it failed or left); a finger that pointed at it moves to its first backup. */
  remove(node: bigint): boolean {
    let removed = false;
    for (const [i, e] of this.#entries) {
      const backups = e.backups.filter((b) => b !== node);
      if (backups.length !== e.backups.length) removed = true;
      if (e.node !== node) {
        e.backups = backups;
        continue;
      }
      removed = true;
      const [next, ...rest] = backups;
      if (next === undefined) this.#entries.delete(i);
      else this.#entries.set(i, { node: next, backups: rest });
    }
    return removed;
  }

  /** The distinct nodes the table names, fingers and backups. */
  nodes(): bigint[] {
    const out = new Set<bigint>();
    for (const e of this.#entries.values()) {
      out.add(e.node);
      for (const b of e.backups) out.add(b);
    }
    return [...out];
  }

  /** The fingers in index order. */
  entries(): RingFinger[] {
    return [...this.#entries]
      .sort((a, b) => a[0] - b[0])
      .map(([index, e]) => ({ index, node: e.node, backups: [...e.backups] }));
  }

  clear(): void {
    this.#entries.clear();
  }

  /**
   * The lowest finger index worth a remote lookup when the successor list reaches
   * `lastSuccessor`: the first i with 2^i beyond it (0 when the list is empty).
   */
  firstRemoteIndex(lastSuccessor: bigint | null): number {
    if (lastSuccessor === null) return 0;
    const d = this.#space.distance(this.#owner, lastSuccessor);
    return Math.min(d.toString(2).length, this.#space.bits);
  }
}
