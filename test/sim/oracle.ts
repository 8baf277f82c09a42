/**
 * The simulator's global view: the sorted live IDs, the true owner of a key, converged
 * routing state for warm starts, and the ring invariants a repaired ring must satisfy.
 */
import { RING_FINGER_BACKUPS, type RingFinger, type RingNodeSnapshot, type RingSpace } from '@ringswarm/shared';

export class RingOracle {
  readonly ids: bigint[];
  readonly #space: RingSpace;

  constructor(space: RingSpace, ids: Iterable<bigint>) {
    this.#space = space;
    this.ids = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Index of the first id >= key (wrapping to 0). */
  #indexOf(key: bigint): number {
    const ids = this.ids;
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ids[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo === ids.length ? 0 : lo;
  }

  /** The true owner of `key`: the first live id clockwise at or after it. */
  successorOf(key: bigint): bigint {
    const id = this.ids[this.#indexOf(key)];
    if (id === undefined) throw new Error('empty ring');
    return id;
  }

  /** The next `count` ids after `id` (fewer when the ring is smaller). */
  successorsOf(id: bigint, count: number): bigint[] {
    const n = this.ids.length;
    const start = this.#indexOf(this.#space.add(id, 1n));
    const out: bigint[] = [];
    for (let k = 0; k < Math.min(count, n - 1); k++) {
      const next = this.ids[(start + k) % n]!;
      if (next === id) break;
      out.push(next);
    }
    return out;
  }

  predecessorOf(id: bigint): bigint | null {
    const n = this.ids.length;
    if (n < 2) return null;
    const i = this.#indexOf(id);
    return this.ids[(i - 1 + n) % n]!;
  }

  /** The state a node has once stabilization and fix-fingers have converged. */
  convergedState(id: bigint, r: number): RingNodeSnapshot {
    const successors = this.successorsOf(id, r);
    const fingers: RingFinger[] = [];
    const last = successors[successors.length - 1];
    const span = last === undefined ? 0n : this.#space.distance(id, last);
    for (let i = 0; i < this.#space.bits; i++) {
      if (1n << BigInt(i) <= span) continue;
      const owner = this.successorOf(this.#space.fingerStart(id, i));
      if (owner !== id) fingers.push({ index: i, node: owner, backups: this.successorsOf(owner, RING_FINGER_BACKUPS) });
    }
    return { predecessor: this.predecessorOf(id), successors, fingers };
  }
}

export interface RingView {
  id: bigint;
  predecessor: bigint | null;
  successors: bigint[];
}

export interface InvariantReport {
  /** Following first successors from any node visits every live node once and comes back. */
  oneRing: boolean;
  /** Every first successor is the next live node clockwise. */
  ordered: boolean;
  /** Every live node is reached by following first successors. */
  allReachable: boolean;
  /** Every successor list equals the next min(r, N - 1) live nodes. */
  successorListsCorrect: boolean;
  /** Every predecessor is the previous live node. */
  predecessorsCorrect: boolean;
  ok: boolean;
  /** Counts of nodes that break each rule. */
  wrongSuccessor: number;
  wrongList: number;
  wrongPredecessor: number;
}

/** Checks the ring invariants over the live nodes' views. */
export function checkInvariants(space: RingSpace, views: RingView[], r: number): InvariantReport {
  const oracle = new RingOracle(
    space,
    views.map((v) => v.id),
  );
  const byId = new Map(views.map((v) => [v.id, v]));
  let wrongSuccessor = 0;
  let wrongList = 0;
  let wrongPredecessor = 0;
  for (const v of views) {
    const want = oracle.successorsOf(v.id, r);
    const first = v.successors[0] ?? v.id;
    if (first !== (want[0] ?? v.id)) wrongSuccessor++;
    if (want.length !== v.successors.length || want.some((w, i) => w !== v.successors[i])) wrongList++;
    if (v.predecessor !== oracle.predecessorOf(v.id)) wrongPredecessor++;
  }
  // Walk first successors from the lowest id.
  const start = oracle.ids[0];
  const seen = new Set<bigint>();
  let oneRing = start !== undefined;
  if (start !== undefined) {
    let cur = start;
    for (let steps = 0; steps <= views.length; steps++) {
      if (seen.has(cur)) break;
      seen.add(cur);
      const v = byId.get(cur);
      const next = v ? (v.successors[0] ?? cur) : undefined;
      if (next === undefined || !byId.has(next)) {
        oneRing = false;
        break;
      }
      cur = next;
    }
    if (cur !== start) oneRing = false;
  }
  const allReachable = seen.size === views.length;
  oneRing = oneRing && allReachable;
  const report = {
    oneRing,
    ordered: wrongSuccessor === 0,
    allReachable,
    successorListsCorrect: wrongList === 0,
    predecessorsCorrect: wrongPredecessor === 0,
    wrongSuccessor,
    wrongList,
    wrongPredecessor,
  };
  return {
    ...report,
    ok:
      report.oneRing &&
      report.ordered &&
      report.allReachable &&
      report.successorListsCorrect &&
      report.predecessorsCorrect,
  };
}
