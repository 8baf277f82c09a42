/**
 * The periodic work that keeps a node's pointers right: stabilize (ask the successor for
 * its predecessor and list), probe the successor list when the successor failed, check the
 * predecessor, ping one backup successor, and fix one finger. Each task runs on its own
 * jittered interval, or on demand ({@link RingMaintenance.run}) in the simulator's rounds.
 *
 * A neighbour the transport holds an open connection to (`isLinked`) is not pinged on these
 * rounds: the connection's loss is the failure signal, and {@link RingMaintenance.checkNeighbour}
 * pings it then. Stabilization still asks the successor every round (it learns of newcomers).
 * A connection to a process that crashed is reported lost only once the transport gives up on
 * it, though, so with a watch interval (`watchMs`) the linked successor is pinged whenever it
 * has been silent that long, and the linked predecessor a grace period later.
 *
 * With a backoff (`maxBackoff` > 1), a task that runs while the node's neighbourhood has not
 * changed since its last run waits twice as long next time, up to `maxBackoff` times its
 * interval; any change of predecessor or successors ({@link RingMaintenance.changed}) puts
 * every task back on its own interval, and stabilization runs again soon. A node that gains
 * a new predecessor tells the old one (a `successors` notice), which counts as a change there:
 * the node just behind a newcomer learns of it within one interval, not one backed-off interval.
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

/** Where lookups are routed, a finger without an open connection is looked up again this often. */
export const RING_UNLINKED_FINGER_REFRESH_MS = 5 * 60_000;

export type RingMaintenanceTask = 'stabilize' | 'fixFingers' | 'checkPredecessor' | 'pingSuccessors';

/** The periodic tasks, each on its own jittered interval. */
export type RingMaintenanceIntervals = Record<RingMaintenanceTask, number>;

/**
 * How much longer than the watch interval a linked predecessor may stay silent before it is
 * pinged: its own watch pings us once it has not heard from us for an interval, and it
 * heard from us when we last answered, so its next ping is due one interval (and a round
 * trip) after the last one.
 */
export const RING_WATCH_GRACE_MS = 1_000;

export class RingMaintenance {
  readonly #node: RingContext;
  readonly #intervals: RingMaintenanceIntervals;
  readonly #maxBackoff: number;
  readonly #timers = new Map<RingMaintenanceTask, unknown>();
  /** Each task's current multiplier of its interval (1 up to {@link #maxBackoff}). */
  readonly #backoff = new Map<RingMaintenanceTask, number>();
  /** When each task last ran, and when the neighbourhood last changed, on the clock. */
  readonly #ranAt = new Map<RingMaintenanceTask, number>();
  #changedAt = Number.NEGATIVE_INFINITY;
  /** A stabilization (or the probe after a failed successor) is under way. */
  #stabilizing = false;
  #checkingPredecessor = false;
  /** A node that told us it is our predecessor while the one we have was being checked. */
  #notifier: bigint | null = null;
  /** The finger fix-fingers refreshes next. */
  #nextFinger = 0;
  /** When each finger was last looked up (for fingers without an open connection). */
  readonly #fingerLookedUpAt = new Map<number, number>();
  /** The backup successor pinged next (round robin from index 1). */
  #pingCursor = 1;
  /** See {@link RingMaintenance} (`watchMs`); 0: no watch. */
  readonly #watchMs: number;
  #successorWatch: unknown = null;
  #predecessorWatch: unknown = null;
  /** The successor we last heard from, and when (on the clock). */
  #successorHeard: { node: bigint; at: number } | null = null;
  #watchPingOut = false;
  #watchStartedAt = Number.NEGATIVE_INFINITY;

  /**
   * @param maxBackoff the most a quiet neighbourhood stretches each interval (1: never)
   * @param watchMs where > 0, the linked successor is pinged whenever it was silent this
   *   long, and the linked predecessor when it was silent this long and {@link RING_WATCH_GRACE_MS}
   *   more. A connection to a process that died is reported lost only when the transport gives up
   *   on it (13 to 30 s for WebRTC here), while the pair of neighbours this watch keeps costs one
   *   ping and one pong per interval: the ring repairs itself within a few intervals of a crash.
   */
  constructor(node: RingContext, intervals: RingMaintenanceIntervals, maxBackoff = 1, watchMs = 0) {
    this.#node = node;
    this.#intervals = intervals;
    this.#maxBackoff = Math.max(1, maxBackoff);
    this.#watchMs = watchMs;
  }

  /**
   * The predecessor or the successor list changed (or a neighbour said its own did): every
   * task goes back to its own interval, and a backed-off stabilization is brought forward.
   */
  changed(): void {
    const node = this.#node;
    this.#changedAt = node.clock.now();
    if (this.#maxBackoff === 1) return;
    const stretched = (this.#backoff.get('stabilize') ?? 1) > 1;
    this.#backoff.clear();
    if (stretched && this.#timers.has('stabilize')) {
      node.clock.clearTimeout(this.#timers.get('stabilize'));
      this.#timers.delete('stabilize');
      this.#schedule('stabilize', this.#intervals.stabilize * node.random());
    }
  }

  /** Starts the timers not running yet. */
  start(): void {
    if (!this.#node.joined) return;
    for (const task of Object.keys(this.#intervals) as RingMaintenanceTask[]) {
      // The first run comes at a random phase, so nodes started together do not move in step.
      if (!this.#timers.has(task)) this.#schedule(task, this.#intervals[task] * this.#node.random());
    }
    if (this.#watchMs > 0) {
      this.#watchStartedAt = this.#node.clock.now();
      if (this.#successorWatch === null) this.#watchSuccessor();
      if (this.#predecessorWatch === null) this.#watchPredecessor();
    }
  }

  /** Stops the timers; requests already sent still complete. */
  stop(): void {
    const { clock } = this.#node;
    for (const handle of this.#timers.values()) clock.clearTimeout(handle);
    this.#timers.clear();
    if (this.#successorWatch !== null) clock.clearTimeout(this.#successorWatch);
    if (this.#predecessorWatch !== null) clock.clearTimeout(this.#predecessorWatch);
    this.#successorWatch = null;
    this.#predecessorWatch = null;
  }

  // --- the watch over the linked neighbours ---------------------------------------

  /** A message came from `from`; the node calls this for every inbound message. */
  heard(from: bigint): void {
    if (this.#watchMs > 0 && from === this.#node.successors.first) {
      this.#successorHeard = { node: from, at: this.#node.clock.now() };
    }
  }

  /**
   * Pings the successor once it was silent for the watch interval (over its open connection;
   * one without is probed by the periodic tasks). No answer: it is forgotten and the backups
   * are probed at once. An answer naming another predecessor than us starts a stabilization,
   * so a newcomer in front of us is learnt of within an interval too.
   */
  #watchSuccessor(): void {
    const node = this.#node;
    const now = node.clock.now();
    const succ = node.successors.first;
    let due = this.#watchMs;
    if (succ !== undefined && succ !== null && node.isLinked(succ) && !this.#watchPingOut) {
      const heard = this.#successorHeard;
      // Waits of under a millisecond are rounded up: a clock that tells fractions could
      // otherwise land just short of the deadline again and again.
      const wait = heard === null ? 0 : heard.at + this.#watchMs - now;
      if (heard === null || heard.node !== succ) this.#successorHeard = { node: succ, at: now };
      else if (wait > 0) due = Math.max(wait, 1);
      else {
        this.#watchPingOut = true;
        node.call(succ, { type: 'ping' }, 'pong', (pong) => {
          this.#watchPingOut = false;
          if (!node.joined || node.successors.first !== succ) return;
          if (pong === null) {
            node.forget(succ);
            if (!this.#stabilizing) this.#probeSuccessors();
          } else if (pong.predecessor !== node.id) this.stabilize();
        });
      }
    }
    this.#successorWatch = node.clock.setTimeout(() => {
      this.#successorWatch = null;
      if (node.joined) this.#watchSuccessor();
    }, due);
  }

  /** Pings the linked predecessor once it was silent for the watch interval and the grace. */
  #watchPredecessor(): void {
    const node = this.#node;
    const limit = this.#watchMs + RING_WATCH_GRACE_MS;
    const pred = node.predecessor;
    let due = limit;
    if (pred !== null && node.isLinked(pred)) {
      // Silence counts from the watch's start at the earliest (a restored node heard no one yet).
      const wait = Math.max(node.predecessorHeardAt, this.#watchStartedAt) + limit - node.clock.now();
      if (wait > 0) due = Math.max(wait, 1);
      else this.checkPredecessor(undefined, true);
    }
    this.#predecessorWatch = node.clock.setTimeout(() => {
      this.#predecessorWatch = null;
      if (node.joined) this.#watchPredecessor();
    }, due);
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
    const interval = this.#intervals[task] * (this.#backoff.get(task) ?? 1);
    const delay = firstDelay ?? jitterMs(interval, RING_MAINTENANCE_JITTER, node.random);
    const handle = node.clock.setTimeout(() => {
      if (!node.joined) return;
      this.#timers.delete(task);
      this.#stretch(task);
      this.#schedule(task);
      this.run(task);
    }, delay);
    this.#timers.set(task, handle);
  }

  /** A task about to run again: nothing changed since its last run doubles its interval (to the cap). */
  #stretch(task: RingMaintenanceTask): void {
    const now = this.#node.clock.now();
    const last = this.#ranAt.get(task);
    this.#ranAt.set(task, now);
    if (this.#maxBackoff === 1 || last === undefined) return;
    const factor = this.#backoff.get(task) ?? 1;
    this.#backoff.set(task, this.#changedAt < last ? Math.min(factor * 2, this.#maxBackoff) : 1);
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

  /**
   * Pings the predecessor unless it spoke to us lately or its connection is open (unless
   * `force`); `notifier` replaces it if it is gone.
   */
  checkPredecessor(notifier?: bigint, force = false): void {
    const node = this.#node;
    const pred = node.predecessor;
    if (pred === null) return;
    if (notifier !== undefined) {
      // Of several notifiers while one check runs, the nearest behind us takes the place.
      const held = this.#notifier;
      if (held === null || node.space.between(notifier, held, node.id)) this.#notifier = notifier;
    }
    if (this.#checkingPredecessor) return;
    const quiet = node.clock.now() - node.predecessorHeardAt >= this.#intervals.checkPredecessor;
    if (notifier === undefined && !force && (!quiet || node.isLinked(pred))) return;
    this.#checkingPredecessor = true;
    node.call(pred, { type: 'ping' }, 'pong', (pong) => {
      this.#checkingPredecessor = false;
      const candidate = this.#notifier;
      this.#notifier = null;
      if (!node.joined || pong || node.predecessor !== pred) return;
      node.forget(pred);
      if (candidate !== null && !node.liveness.isDead(candidate)) node.setPredecessor(candidate);
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

  /**
   * Pings the next backup successor (round robin) with no open connection, and drops it if it
   * is gone. Where lookups are routed and the first successor's connection is open, nothing:
   * that connection reports the successor's loss, and stabilization takes the backups from the
   * successor's own list, which its successor's connection keeps right in turn; a probe would
   * cost a routed lookup there and back.
   */
  #pingSuccessor(): void {
    const node = this.#node;
    const first = node.successors.first;
    if (node.routed && first !== undefined && first !== null && node.isLinked(first)) return;
    const count = node.successors.length;
    for (let tried = 1; tried < count; tried++) {
      if (this.#pingCursor >= count) this.#pingCursor = 1;
      const backup = node.successors.at(this.#pingCursor++)!;
      if (node.isLinked(backup)) continue;
      this.#ping(backup);
      return;
    }
  }

  /**
   * The connection to `peer` was lost: if it is our predecessor or one of our successors, it
   * is pinged now (over a new connection) and forgotten if it does not answer.
   */
  checkNeighbour(peer: bigint): void {
    const node = this.#node;
    if (!node.joined) return;
    if (peer === node.predecessor) this.checkPredecessor(undefined, true);
    if (node.successors.toArray().includes(peer)) this.#ping(peer);
  }

  /**
   * Probes a successor (a ping, or a routed lookup of its ID where lookups are routed and no
   * connection to it is open); one that does not answer is forgotten, and a lost first
   * successor replaced.
   */
  #ping(peer: bigint): void {
    const node = this.#node;
    node.probe(peer, (alive) => {
      if (alive || !node.joined) return;
      const wasFirst = node.successors.first === peer;
      node.forget(peer);
      // More of the list may have died with it: every backup is pinged at once.
      if (wasFirst && !this.#stabilizing) this.#probeSuccessors();
    });
  }

  /**
   * Refreshes the next finger beyond the successor list, and every finger with the same owner.
   * Where lookups are routed, a finger with an open connection is checked over it instead.
   */
  #fixFinger(): void {
    const node = this.#node;
    const { space } = node;
    const low = node.fingers.firstRemoteIndex(node.successors.last);
    const bits = space.bits;
    if (low >= bits) return;
    if (this.#nextFinger < low || this.#nextFinger >= bits) this.#nextFinger = low;
    const i = this.#nextFinger;
    const start = space.fingerStart(node.id, i);
    const current = node.fingers.get(i);
    if (node.routed && current !== undefined && node.isLinked(current)) {
      // Over its open connection, the finger says who precedes it: while that is still before
      // the finger's start, it is still the start's successor (two messages, not a lookup).
      node.call(current, { type: 'ping' }, 'pong', (pong) => {
        if (!node.joined) return;
        const p = pong ? pong.predecessor : null;
        if (pong && (p === null || p === current || !space.between(p, start, current))) {
          this.#skipFingersOf(i, current);
          return;
        }
        this.#lookUpFinger(i, start);
      });
      return;
    }
    if (
      node.routed &&
      current !== undefined &&
      node.clock.now() - (this.#fingerLookedUpAt.get(i) ?? -Infinity) < RING_UNLINKED_FINGER_REFRESH_MS
    ) {
      // Routed lookups hop only over open connections: a finger without one (the remote had
      // no room) is not worth a lookup each round; it is looked up again now and then.
      this.#skipFingersOf(i, current);
      return;
    }
    this.#fingerLookedUpAt.set(i, node.clock.now());
    this.#lookUpFinger(i, start);
  }

  /** Moves the cursor past finger `i` and the fingers after it that share its node. */
  #skipFingersOf(i: number, finger: bigint): void {
    const { fingers, space } = this.#node;
    let j = i + 1;
    while (j < space.bits && fingers.get(j) === finger) j++;
    this.#nextFinger = j;
  }

  /** Looks up the successor of finger `i`'s start and sets it there and on the later fingers it also covers. */
  #lookUpFinger(i: number, start: bigint): void {
    const node = this.#node;
    const { space } = node;
    const bits = space.bits;
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
