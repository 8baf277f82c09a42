/**
 * The periodic work that keeps a node's pointers right: stabilize (ask the successor for
 * its predecessor and list), probe the successor list when the successor failed, check the
 * predecessor, ping one backup successor, and fix one finger. Each task runs on its own
 * jittered interval, or on demand ({@link RingMaintenance.run}) in the simulator's rounds.
 */
import { jitterMs } from '../util/backoff.js';
import type { RingContext } from './context.js';

/** How often a node asks its successor for its predecessor and successor list. */
export const RING_STABILIZE_INTERVAL_MS = 30_000;
/** How often a node refreshes one finger (and the fingers that share its owner). */
export const RING_FIX_FINGERS_INTERVAL_MS = 60_000;
/** How often a silent predecessor is pinged. */
export const RING_CHECK_PREDECESSOR_INTERVAL_MS = 30_000;
/** How often one backup successor (round robin) is pinged. */
export const RING_PING_SUCCESSORS_INTERVAL_MS = 30_000;
/** Closer successors one stabilization may walk back through (each must answer first). */
export const RING_STABILIZE_MAX_STEPS = 8;
/** Each maintenance interval is drawn from interval * [1 - JITTER, 1 + JITTER]. */
export const RING_MAINTENANCE_JITTER = 0.25;

/** The periodic tasks, each on its own jittered interval. */
export type RingMaintenanceTask = 'stabilize' | 'fixFingers' | 'checkPredecessor' | 'pingSuccessors';

export type RingMaintenanceIntervals = Record<RingMaintenanceTask, number>;

export class RingMaintenance {
  readonly #node: RingContext;
  readonly #intervals: RingMaintenanceIntervals;
  readonly #timers = new Map<RingMaintenanceTask, unknown>();
  /** A stabilization (or the probe after a failed successor) is under way. */
  #stabilizing = false;
  #checkingPredecessor = false;
  /** The finger fix-fingers refreshes next. */
  #nextFinger = 0;
  /** The backup successor pinged next (round robin from index 1). */
  #pingCursor = 1;

  constructor(node: RingContext, intervals: RingMaintenanceIntervals) {
    this.#node = node;
    this.#intervals = intervals;
  }

  /** Starts the timers not running yet. */
  start(): void {
    if (!this.#node.joined) return;
    for (const task of Object.keys(this.#intervals) as RingMaintenanceTask[]) {
      // The first run comes at a random phase, so nodes started together do not move in step.
      if (!this.#timers.has(task)) this.#schedule(task, this.#intervals[task] * this.#node.random());
    }
  }

  /** Stops the timers; requests already sent still complete. */
  stop(): void {
    for (const handle of this.#timers.values()) this.#node.clock.clearTimeout(handle);
    this.#timers.clear();
  }

  /** Runs one task now. */
  run(task: RingMaintenanceTask): void {
    if (!this.#node.joined) return;
    switch (task) {
      case 'stabilize':
        this.stabilize();
        break;
      case 'fixFingers':
        this.#fixFinger();
        break;
      case 'checkPredecessor':
        this.checkPredecessor();
        break;
      case 'pingSuccessors':
        this.#pingSuccessor();
        break;
    }
  }

  #schedule(task: RingMaintenanceTask, firstDelay?: number): void {
    const node = this.#node;
    const delay = firstDelay ?? jitterMs(this.#intervals[task], RING_MAINTENANCE_JITTER, node.random);
    const handle = node.clock.setTimeout(() => {
      if (!node.joined) return;
      this.#timers.delete(task);
      this.#schedule(task);
      this.run(task);
    }, delay);
    this.#timers.set(task, handle);
  }

  // --- stabilize ------------------------------------------------------------------

  /**
   * Asks the successor for its predecessor and list; walks down the list past dead ones,
   * and back towards us through predecessors that lie between us and the successor.
   */
  stabilize(): void {
    const node = this.#node;
    if (this.#stabilizing || !node.joined) return;
    const succ = node.successors.first ?? node.predecessor;
    if (succ === null) return;
    this.#stabilizing = true;
    this.#stabilizeWith(succ, 0);
  }

  #stabilizeWith(succ: bigint, depth: number): void {
    const node = this.#node;
    node.call(succ, { type: 'get-state' }, 'state', (state) => {
      if (!node.joined) return;
      if (!state) {
        this.#stabilizing = false;
        if (depth > 0) return; // a closer candidate that never answered is simply not adopted
        node.forget(succ);
        this.#probeSuccessors();
        return;
      }
      // At depth 0 succ is our successor; deeper, it lies between us and the successor
      // (checked below) and has just answered, so it may take the first place.
      const successor = node.successors.first ?? node.id;
      if (depth === 0 || node.successors.length === 0 || node.space.between(succ, node.id, successor)) {
        node.setSuccessors([succ, ...state.successors]);
      }
      const p = state.predecessor;
      if (depth < RING_STABILIZE_MAX_STEPS && p !== null && p !== node.id && node.space.between(p, node.id, succ)) {
        // A closer successor, named by another node: adopt it only once it answers us. It is
        // asked even if we took it for dead: the successor may have heard from it since.
        this.#stabilizeWith(p, depth + 1);
        return;
      }
      this.#stabilizing = false;
    });
  }

  /**
   * After the successor failed, more of the list may have failed with it (a rack, a
   * network, half the ring): ping every backup at once, drop the silent ones, and stabilize
   * with the nearest that answered as soon as every closer one is known to be gone, rather
   * than walking one timeout at a time.
   */
  #probeSuccessors(): void {
    const node = this.#node;
    const backups = node.successors.toArray();
    if (backups.length === 0) return;
    this.#stabilizing = true;
    const answered: (boolean | undefined)[] = backups.map(() => undefined);
    let settled = false;
    const settle = () => {
      if (settled) return;
      const nearest = answered.findIndex((a) => a !== false);
      if (nearest !== -1 && answered[nearest] === undefined) return; // a closer one may still answer
      settled = true;
      this.#stabilizing = false;
      this.stabilize();
    };
    backups.forEach((backup, i) => {
      node.call(backup, { type: 'ping' }, 'pong', (pong) => {
        if (!node.joined) return;
        answered[i] = pong !== null;
        if (!pong) node.forget(backup);
        settle();
      });
    });
  }

  // --- the predecessor ------------------------------------------------------------

  /** Pings the predecessor unless it spoke to us lately; `notifier` replaces it if it is gone. */
  checkPredecessor(notifier?: bigint): void {
    const node = this.#node;
    const pred = node.predecessor;
    if (pred === null || this.#checkingPredecessor) return;
    if (notifier === undefined && node.clock.now() - node.predecessorHeardAt < this.#intervals.checkPredecessor) {
      return;
    }
    this.#checkingPredecessor = true;
    node.call(pred, { type: 'ping' }, 'pong', (pong) => {
      this.#checkingPredecessor = false;
      if (!node.joined || pong || node.predecessor !== pred) return;
      node.forget(pred);
      if (notifier !== undefined && !node.liveness.isDead(notifier)) node.setPredecessor(notifier);
    });
  }

  /** Pings a possible predecessor and adopts it if it answers and fits. */
  considerPredecessor(candidate: bigint): void {
    const node = this.#node;
    node.call(candidate, { type: 'ping' }, 'pong', (pong) => {
      if (!pong || !node.joined) return;
      const pred = node.predecessor;
      if (pred === null || node.space.between(candidate, pred, node.id)) node.setPredecessor(candidate);
    });
  }

  // --- backups and fingers --------------------------------------------------------

  /** Pings one backup successor (round robin) and drops it if it is gone. */
  #pingSuccessor(): void {
    const node = this.#node;
    if (node.successors.length < 2) return;
    if (this.#pingCursor >= node.successors.length) this.#pingCursor = 1;
    const backup = node.successors.at(this.#pingCursor++)!;
    node.call(backup, { type: 'ping' }, 'pong', (pong) => {
      if (!pong && node.joined) node.forget(backup);
    });
  }

  /** Refreshes the next finger beyond the successor list, and every finger with the same owner. */
  #fixFinger(): void {
    const node = this.#node;
    const { space } = node;
    const low = node.fingers.firstRemoteIndex(node.successors.last);
    const bits = space.bits;
    if (low >= bits) return;
    if (this.#nextFinger < low || this.#nextFinger >= bits) this.#nextFinger = low;
    const i = this.#nextFinger;
    const start = space.fingerStart(node.id, i);
    node.lookup(start, (r) => {
      if (!node.joined) return;
      for (const dead of r.deadNodes) node.forget(dead);
      const owner = r.owner;
      const backups = r.owners.slice(1);
      if (owner === null) {
        this.#nextFinger = i + 1;
        return;
      }
      // Later fingers whose start still falls before the owner share it.
      let j = i;
      while (j < bits && (j === i || space.betweenRight(space.fingerStart(node.id, j), start, owner))) {
        node.fingers.set(j, owner, backups);
        j++;
      }
      this.#nextFinger = j;
    });
  }
}
