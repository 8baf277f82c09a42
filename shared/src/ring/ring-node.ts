/**
 * One Chord node as a pure state machine. Inputs are messages ({@link RingNode.handle})
 * and timer callbacks; outputs are messages through the injected `send`. Clock, timers
 * and randomness are injected, so the same code runs over WebRTC and in the simulator.
 *
 * Pointer rule (from the verification literature on Chord): a node becomes our
 * successor, predecessor or finger only after it has itself talked to us, by answering a
 * request or by sending one. Entries behind the first successor are the first
 * successor's own (checked) list and serve as backups until stabilization reaches them.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { jitterMs } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import { FingerTable, type RingFinger } from './finger-table.js';
import { RING_DEFAULT_BITS, RingSpace } from './id.js';
import {
  type DhtNotice,
  type DhtReply,
  type DhtRequest,
  RING_MAX_NODES_PER_MESSAGE,
  type RingMessage,
  type RingReply,
  type RingRequest,
} from './messages.js';
import { RING_DEFAULT_SUCCESSORS, SuccessorList } from './successor-list.js';

/** How often a node asks its successor for its predecessor and successor list. */
export const RING_STABILIZE_INTERVAL_MS = 30_000;
/** How often a node refreshes one finger (and the fingers that share its owner). */
export const RING_FIX_FINGERS_INTERVAL_MS = 60_000;
/** How often a silent predecessor is pinged. */
export const RING_CHECK_PREDECESSOR_INTERVAL_MS = 30_000;
/** How often one backup successor (round robin) is pinged. */
export const RING_PING_SUCCESSORS_INTERVAL_MS = 30_000;
/** How long a request waits for its answer before it is sent again or given up. */
export const RING_RPC_TIMEOUT_MS = 1_000;
/** Resends after a timeout before a node is taken for dead (one lost packet is not death). */
export const RING_RPC_RETRIES = 1;
/**
 * How long a node found dead is kept out of lists received from others: one stabilization
 * interval, long enough for the news to reach the neighbours that still list it.
 */
export const RING_DEAD_MEMORY_MS = 30_000;
/** Closest preceding nodes returned by a lookup step that is not done. */
export const RING_FIND_CANDIDATES = 6;
/** Upper bound on the requests of one lookup. */
export const RING_LOOKUP_MAX_STEPS = 128;
/** Times a JOIN may be sent on to the answering node's predecessor. */
export const RING_JOIN_MAX_REDIRECTS = 16;
/** Closer successors one stabilization may walk back through (each must answer first). */
export const RING_STABILIZE_MAX_STEPS = 8;
/** Each maintenance interval is drawn from interval * [1 - JITTER, 1 + JITTER]. */
export const RING_MAINTENANCE_JITTER = 0.25;

export interface RingNodeDeps {
  /** This node's identifier (< 2^m). */
  id: bigint;
  /** Delivers a message to another node; delivery may fail silently. */
  send(to: bigint, msg: RingMessage): void;
  /** Time and timers: the simulator's virtual clock, or the platform's. */
  clock: Clock;
  /** Uniform in [0, 1): jitter. */
  random(): number;
}

export interface RingNodeOptions {
  /** Identifier bits m (default 160, at least 8). */
  bits?: number;
  /** Successor-list length r (default 8, at least 2). */
  successors?: number;
  /** Defaults: the RING_*_MS constants. */
  stabilizeIntervalMs?: number;
  fixFingersIntervalMs?: number;
  checkPredecessorIntervalMs?: number;
  pingSuccessorsIntervalMs?: number;
  /**
   * How long a request waits for its answer; a function lets the transport give a node it
   * still has to connect to more time than one it already talks to.
   */
  rpcTimeoutMs?: number | ((to: bigint) => number);
  rpcRetries?: number;
  deadMemoryMs?: number;
  /** Run the maintenance timers once joined (default true). */
  maintenance?: boolean;
}

/** The routing state of a node, for inspection and for warm starts. */
export interface RingNodeSnapshot {
  predecessor: bigint | null;
  /** Nearest first. */
  successors: bigint[];
  fingers: RingFinger[];
}

export interface RingLookupResult {
  /** The key's owner, confirmed alive; null when the lookup failed. */
  owner: bigint | null;
  /** Nodes that answered a lookup step (the originator not counted). */
  hops: number;
  /** Nodes that did not answer (after retries). */
  timeouts: number;
  /** The owner followed by the nodes after it that the lookup learned (its replica holders). */
  owners: bigint[];
  error: RingswarmError | null;
}

export type RingNodeEvents = {
  /** The node joined (or created) a ring. */
  joined: [];
  predecessor: [predecessor: bigint | null];
  /** The successor list changed; the first entry is the successor. */
  successors: [successors: bigint[]];
  /** Emitted by leave() before the goodbye messages go out (the DHT hands its keys over here). */
  leaving: [];
  /** A lookup finished (successfully or not), after `ms` on the injected clock. */
  lookup: [result: RingLookupResult, ms: number];
  /** A DHT request or notice, for the store on top of this node. */
  message: [from: bigint, msg: DhtRequest | DhtNotice];
  close: [];
};

type ReplyOf<T extends RingReply['type']> = Extract<RingReply, { type: T }>;
type RequestBody<R extends { rid: number } = RingRequest> = R extends { rid: number } ? Omit<R, 'rid'> : never;

interface Pending {
  to: bigint;
  expect: RingReply['type'];
  timer: unknown;
  callback: (reply: RingReply | null) => void;
}

/** The periodic tasks, each on its own jittered interval. */
export type RingMaintenanceTask = 'stabilize' | 'fixFingers' | 'checkPredecessor' | 'pingSuccessors';

export class RingNode extends Emitter<RingNodeEvents> {
  readonly id: bigint;
  readonly space: RingSpace;
  readonly #deps: RingNodeDeps;
  readonly #successors: SuccessorList;
  readonly #fingers: FingerTable;
  readonly #intervals: Record<RingMaintenanceTask, number>;
  readonly #rpcTimeoutMs: (to: bigint) => number;
  readonly #rpcRetries: number;
  readonly #deadMemoryMs: number;
  readonly #autoMaintenance: boolean;
  #predecessor: bigint | null = null;
  #predecessorHeardAt = Number.NEGATIVE_INFINITY;
  #state: 'idle' | 'joining' | 'joined' | 'destroyed' = 'idle';
  #pending = new Map<number, Pending>();
  #nextRid = 1;
  #maintenance = new Map<RingMaintenanceTask, unknown>();
  #dead = new Map<bigint, number>();
  #stabilizing = false;
  #checkingPredecessor = false;
  #nextFinger = 0;
  #pingCursor = 1;

  constructor(deps: RingNodeDeps, options: RingNodeOptions = {}) {
    super();
    this.space = new RingSpace(options.bits ?? RING_DEFAULT_BITS);
    if (!this.space.contains(deps.id)) throw new RangeError('node id out of range');
    this.id = deps.id;
    this.#deps = deps;
    this.#successors = new SuccessorList(this.space, deps.id, options.successors ?? RING_DEFAULT_SUCCESSORS);
    this.#fingers = new FingerTable(this.space, deps.id);
    this.#intervals = {
      stabilize: options.stabilizeIntervalMs ?? RING_STABILIZE_INTERVAL_MS,
      fixFingers: options.fixFingersIntervalMs ?? RING_FIX_FINGERS_INTERVAL_MS,
      checkPredecessor: options.checkPredecessorIntervalMs ?? RING_CHECK_PREDECESSOR_INTERVAL_MS,
      pingSuccessors: options.pingSuccessorsIntervalMs ?? RING_PING_SUCCESSORS_INTERVAL_MS,
    };
    const timeout = options.rpcTimeoutMs ?? RING_RPC_TIMEOUT_MS;
    this.#rpcTimeoutMs = typeof timeout === 'number' ? () => timeout : timeout;
    this.#rpcRetries = options.rpcRetries ?? RING_RPC_RETRIES;
    this.#deadMemoryMs = options.deadMemoryMs ?? RING_DEAD_MEMORY_MS;
    this.#autoMaintenance = options.maintenance ?? true;
  }

  get destroyed(): boolean {
    return this.#state === 'destroyed';
  }

  get joined(): boolean {
    return this.#state === 'joined';
  }

  get predecessor(): bigint | null {
    return this.#predecessor;
  }

  /** The successor; this node itself when it knows no other (a ring of one). */
  get successor(): bigint {
    return this.#successors.first ?? this.id;
  }

  get successors(): bigint[] {
    return this.#successors.toArray();
  }

  snapshot(): RingNodeSnapshot {
    return {
      predecessor: this.#predecessor,
      successors: this.#successors.toArray(),
      fingers: this.#fingers.entries(),
    };
  }

  /** True when this node owns `key` by its own view: key in (predecessor, id]. */
  owns(key: bigint): boolean {
    if (this.#predecessor === null) return this.#successors.length === 0;
    return this.space.betweenRight(key, this.#predecessor, this.id);
  }

  /** Starts a new ring of one. */
  create(): void {
    if (this.#state !== 'idle') return;
    this.#becomeJoined();
  }

  /**
   * Starts from a known routing state, as if stabilization had converged: for simulators
   * and tests that build a large ring without replaying its history. The caller vouches
   * that every node named is alive.
   */
  restore(state: RingNodeSnapshot): void {
    if (this.#state !== 'idle') return;
    this.#predecessor = state.predecessor === this.id ? null : state.predecessor;
    this.#successors.replace(state.successors);
    for (const f of state.fingers) this.#fingers.set(f.index, f.node, f.backups);
    this.#becomeJoined();
  }

  /**
   * Joins the ring that `bootstrap` belongs to: routes a lookup for our own ID through
   * it, sends JOIN to the owner, and takes the JOIN-ACK's successor list.
   */
  join(bootstrap: bigint, callback: (error: RingswarmError | null) => void = () => {}): void {
    if (this.#state !== 'idle') {
      callback(new RingswarmError(ErrorCode.RING_JOIN_FAILED, `cannot join from state ${this.#state}`));
      return;
    }
    this.#state = 'joining';
    const fail = (why: string) => {
      if (this.#state !== 'joining') return;
      this.#state = 'idle';
      callback(new RingswarmError(ErrorCode.RING_JOIN_FAILED, why));
    };
    this.#route(this.id, [bootstrap], true, (result) => {
      if (this.#state !== 'joining') return;
      const owners = result.ownersList;
      if (owners.length === 0) {
        fail(result.error?.message ?? 'no owner found for our id');
        return;
      }
      this.#tryJoin(owners, 0, RING_JOIN_MAX_REDIRECTS, callback, fail);
    });
  }

  #tryJoin(
    owners: bigint[],
    index: number,
    redirects: number,
    callback: (error: RingswarmError | null) => void,
    fail: (why: string) => void,
  ): void {
    const owner = owners[index];
    if (owner === undefined) {
      fail('no owner of our id answered JOIN');
      return;
    }
    this.#call(owner, { type: 'join' }, 'join-ack', (ack) => {
      if (this.#state !== 'joining') return;
      if (!ack) {
        this.#tryJoin(owners, index + 1, redirects, callback, fail);
        return;
      }
      const p = ack.predecessor;
      if (p !== null && p !== this.id && this.space.between(p, this.id, owner)) {
        // Its predecessor lies between us and it: that node (or one before it) is our successor.
        if (redirects > 0) this.#tryJoin([p, ...owners.slice(index)], 0, redirects - 1, callback, fail);
        else fail('JOIN kept being redirected');
        return;
      }
      this.#successors.replace([owner, ...ack.successors].filter((n) => !this.#isDead(n)));
      this.#becomeJoined();
      this.emit('successors', this.#successors.toArray());
      const pred = ack.predecessor;
      if (pred !== null && pred !== this.id) this.#considerPredecessor(pred);
      callback(null);
    });
  }

  #becomeJoined(): void {
    this.#state = 'joined';
    this.emit('joined');
    if (this.#autoMaintenance) this.startMaintenance();
  }

  /** Leaves gracefully: tells both neighbours (after `leaving` listeners ran), then destroys. */
  leave(): void {
    if (this.#state !== 'joined') {
      this.destroy();
      return;
    }
    this.emit('leaving');
    const successors = this.#successors.toArray();
    const first = successors[0];
    if (first !== undefined) this.#deps.send(first, { type: 'leave', predecessor: this.#predecessor, successors: [] });
    if (this.#predecessor !== null && this.#predecessor !== first) {
      this.#deps.send(this.#predecessor, { type: 'leave', predecessor: null, successors });
    }
    this.destroy();
  }

  /** Starts (or restarts) the maintenance timers. */
  startMaintenance(): void {
    if (this.#state !== 'joined') return;
    for (const task of Object.keys(this.#intervals) as RingMaintenanceTask[]) {
      // The first run comes at a random phase, so nodes started together do not move in step.
      if (!this.#maintenance.has(task)) this.#schedule(task, this.#intervals[task] * this.#deps.random());
    }
  }

  /** Stops the maintenance timers; requests already sent still complete. */
  stopMaintenance(): void {
    for (const handle of this.#maintenance.values()) this.#deps.clock.clearTimeout(handle);
    this.#maintenance.clear();
  }

  /** Runs one maintenance task now (the simulator's synchronized rounds, and tests). */
  runMaintenance(task: RingMaintenanceTask): void {
    if (this.#state !== 'joined') return;
    switch (task) {
      case 'stabilize':
        this.#stabilize();
        break;
      case 'fixFingers':
        this.#fixFinger();
        break;
      case 'checkPredecessor':
        this.#checkPredecessor();
        break;
      case 'pingSuccessors':
        this.#pingSuccessor();
        break;
    }
  }

  #schedule(task: RingMaintenanceTask, firstDelay?: number): void {
    const base = this.#intervals[task];
    const delay = firstDelay ?? jitterMs(base, RING_MAINTENANCE_JITTER, () => this.#deps.random());
    const handle = this.#deps.clock.setTimeout(() => {
      if (this.#state !== 'joined') return;
      this.#maintenance.delete(task);
      this.#schedule(task);
      this.runMaintenance(task);
    }, delay);
    this.#maintenance.set(task, handle);
  }

  /**
   * Finds the owner of `key` iteratively: asks the closest preceding node it knows,
   * learns closer ones from each answer, falls back to the next candidate (down to the
   * successor list, the seed's O(N) path) when one does not answer, and confirms the
   * owner with a ping whose answer also names the owner's predecessor.
   */
  lookup(key: bigint, callback: (result: RingLookupResult) => void): void {
    if (this.#state !== 'joined') {
      callback({
        owner: null,
        hops: 0,
        timeouts: 0,
        owners: [],
        error: new RingswarmError(ErrorCode.RING_NOT_JOINED, 'lookup before joining a ring'),
      });
      return;
    }
    const started = this.#deps.clock.now();
    this.#route(key, [], true, (r) => {
      const result = { owner: r.owner, hops: r.hops, timeouts: r.timeouts, owners: r.ownersList, error: r.error };
      this.emit('lookup', result, this.#deps.clock.now() - started);
      callback(result);
    });
  }

  /**
   * Sends a DHT request (the `rid` is set here); `callback` gets the answer, or null when
   * none came after the retries.
   */
  request(to: bigint, body: RequestBody<DhtRequest>, callback: (reply: DhtReply | null) => void): void {
    if (this.#state === 'destroyed') return;
    const attempt = (n: number) => {
      const rid = this.#nextRid++;
      const timer = this.#deps.clock.setTimeout(() => {
        if (this.#state === 'destroyed') return;
        this.#appPending.delete(rid);
        if (n < this.#rpcRetries) attempt(n + 1);
        else callback(null);
      }, this.#rpcTimeoutMs(to));
      this.#appPending.set(rid, { to, timer, callback });
      this.#deps.send(to, { ...body, rid } as DhtRequest);
    };
    attempt(0);
  }

  /** Sends a DHT answer or notice. */
  send(to: bigint, msg: DhtReply | DhtNotice): void {
    if (this.#state === 'destroyed') return;
    this.#deps.send(to, msg);
  }

  #appPending = new Map<number, { to: bigint; timer: unknown; callback: (reply: DhtReply | null) => void }>();

  /**
   * The transport lost its connection to `node` (it broke, or could not be made): every
   * request waiting on that node fails now, as if its time had run out, instead of at the
   * end of its timeout.
   */
  abandon(node: bigint): void {
    if (this.#state === 'destroyed') return;
    for (const [rid, p] of [...this.#pending]) {
      if (p.to !== node || !this.#pending.has(rid)) continue;
      this.#deps.clock.clearTimeout(p.timer);
      this.#pending.delete(rid);
      this.#markDead(node);
      p.callback(null);
    }
    for (const [rid, p] of [...this.#appPending]) {
      if (p.to !== node || !this.#appPending.has(rid)) continue;
      this.#deps.clock.clearTimeout(p.timer);
      this.#appPending.delete(rid);
      p.callback(null);
    }
  }

  /**
   * Delivers an inbound message. Ring messages must have passed
   * {@link decodeRingMessage} (or come from trusted in-process code); other types go to
   * `message` listeners, and answers to {@link request} go to their callbacks.
   */
  handle(from: bigint, msg: RingMessage): void {
    if (this.#state === 'destroyed' || from === this.id) return;
    this.#heard(from);
    switch (msg.type) {
      case 'pong':
      case 'found':
      case 'state':
      case 'join-ack':
        this.#settle(from, msg);
        return;
      case 'ping':
        this.#reply(from, { type: 'pong', rid: msg.rid, predecessor: this.#predecessor });
        return;
      case 'find':
        this.#onFind(from, msg);
        return;
      case 'get-state':
        if (this.#state === 'joined') this.#onNotify(from);
        this.#reply(from, {
          type: 'state',
          rid: msg.rid,
          predecessor: this.#predecessor,
          successors: this.#successors.toArray(),
        });
        return;
      case 'join':
        this.#onJoin(from, msg.rid);
        return;
      case 'successors':
        this.#onSuccessors(from, msg.successors);
        return;
      case 'leave':
        this.#onLeave(from, msg);
        return;
      case 'dht-put-reply':
      case 'dht-get-reply': {
        const pending = this.#appPending.get(msg.rid);
        if (!pending || pending.to !== from) return;
        this.#deps.clock.clearTimeout(pending.timer);
        this.#appPending.delete(msg.rid);
        pending.callback(msg);
        return;
      }
      case 'dht-put':
      case 'dht-get':
      case 'dht-store':
        this.emit('message', from, msg);
        return;
    }
  }

  /** Idempotent: cancels timers and outstanding requests, emits `close` last. */
  destroy(): void {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    this.stopMaintenance();
    for (const p of this.#pending.values()) this.#deps.clock.clearTimeout(p.timer);
    this.#pending.clear();
    for (const p of this.#appPending.values()) this.#deps.clock.clearTimeout(p.timer);
    this.#appPending.clear();
    this.emit('close');
    this.removeAllListeners();
  }

  // --- requests -------------------------------------------------------------------

  #call<T extends RingReply['type']>(
    to: bigint,
    body: RequestBody,
    expect: T,
    callback: (reply: ReplyOf<T> | null) => void,
  ): void {
    if (this.#state === 'destroyed') return;
    const attempt = (n: number) => {
      const rid = this.#nextRid++;
      const timer = this.#deps.clock.setTimeout(() => {
        if (this.#state === 'destroyed') return;
        this.#pending.delete(rid);
        if (n < this.#rpcRetries) attempt(n + 1);
        else {
          this.#markDead(to);
          callback(null);
        }
      }, this.#rpcTimeoutMs(to));
      this.#pending.set(rid, { to, expect, timer, callback: callback as (reply: RingReply | null) => void });
      this.#deps.send(to, { ...body, rid } as RingRequest);
    };
    attempt(0);
  }

  #settle(from: bigint, reply: RingReply): void {
    const pending = this.#pending.get(reply.rid);
    if (!pending || pending.to !== from || pending.expect !== reply.type) return;
    this.#deps.clock.clearTimeout(pending.timer);
    this.#pending.delete(reply.rid);
    pending.callback(reply);
  }

  #reply(to: bigint, msg: RingReply): void {
    this.#deps.send(to, msg);
  }

  // --- liveness -------------------------------------------------------------------

  #heard(from: bigint): void {
    this.#dead.delete(from);
    if (from === this.#predecessor) this.#predecessorHeardAt = this.#deps.clock.now();
  }

  #markDead(node: bigint): void {
    this.#dead.set(node, this.#deps.clock.now() + this.#deadMemoryMs);
  }

  #isDead(node: bigint): boolean {
    const until = this.#dead.get(node);
    if (until === undefined) return false;
    if (until <= this.#deps.clock.now()) {
      this.#dead.delete(node);
      return false;
    }
    return true;
  }

  /** Drops every pointer to a node that failed to answer (maintenance only). */
  #forget(node: bigint): void {
    this.#fingers.remove(node);
    if (this.#successors.remove(node)) this.#successorsChanged();
    if (this.#predecessor === node) this.#setPredecessor(null);
  }

  #setPredecessor(node: bigint | null): void {
    if (node === this.#predecessor) return;
    this.#predecessor = node;
    if (node !== null) this.#predecessorHeardAt = this.#deps.clock.now();
    this.emit('predecessor', node);
  }

  #successorsChanged(): void {
    const list = this.#successors.toArray();
    this.emit('successors', list);
    // Push the change to the predecessor at once, so repairs spread in one round, not r.
    if (this.#predecessor !== null && this.#state === 'joined') {
      this.#deps.send(this.#predecessor, { type: 'successors', successors: list });
    }
  }

  #setSuccessors(nodes: bigint[]): void {
    if (this.#successors.replace(nodes.filter((n) => n === nodes[0] || !this.#isDead(n)))) this.#successorsChanged();
  }

  // --- inbound handlers -------------------------------------------------------------

  #onFind(from: bigint, msg: Extract<RingRequest, { type: 'find' }>): void {
    const key = msg.key;
    let done = false;
    let nodes: bigint[];
    if (this.#state !== 'joined') {
      // Not part of a ring (yet): no answer to give, but no reason to be taken for dead.
      nodes = [];
    } else if (this.#successors.length === 0 || (this.#predecessor !== null && this.owns(key))) {
      done = true;
      nodes = [this.id, ...this.#successors.toArray()];
    } else if (this.#successors.confidentOwnersOf(key).length > 0) {
      done = true;
      nodes = this.#successors.confidentOwnersOf(key);
    } else {
      const skip = msg.exclude === undefined ? undefined : new Set(msg.exclude);
      nodes = this.#closestPreceding(key, RING_FIND_CANDIDATES, skip);
      if (nodes.length === 0) {
        done = true;
        nodes = this.#successors.toArray();
      }
    }
    this.#reply(from, { type: 'found', rid: msg.rid, done, nodes });
  }

  /** A node that thinks it is our predecessor (stabilize's notify, merged into get-state). */
  #onNotify(from: bigint): void {
    const pred = this.#predecessor;
    if (pred === null || this.space.between(from, pred, this.id)) {
      this.#setPredecessor(from);
    } else if (from !== pred) {
      // Rectify: a notifier outside (pred, id) replaces pred only if pred is gone.
      this.#checkPredecessor(from);
    }
    if (this.#successors.length === 0) {
      // A ring of one learns its first successor from the first node that contacts it.
      this.#setSuccessors([from]);
    }
  }

  #onJoin(from: bigint, rid: number): void {
    if (this.#state !== 'joined') return;
    const pred = this.#predecessor;
    this.#reply(from, { type: 'join-ack', rid, predecessor: pred, successors: this.#successors.toArray() });
    // The joiner just spoke to us; it sits between our predecessor and us, so it is ours now.
    if (pred === null || this.space.between(from, pred, this.id)) this.#setPredecessor(from);
    if (this.#successors.length === 0) this.#setSuccessors([from]);
  }

  #onSuccessors(from: bigint, successors: bigint[]): void {
    if (this.#state !== 'joined' || from !== this.#successors.first) return;
    this.#setSuccessors([from, ...successors]);
  }

  #onLeave(from: bigint, msg: Extract<RingMessage, { type: 'leave' }>): void {
    if (this.#state !== 'joined') return;
    this.#markDead(from);
    this.#fingers.remove(from);
    if (from === this.#predecessor) {
      this.#setPredecessor(null);
      if (msg.predecessor !== null && msg.predecessor !== this.id) this.#considerPredecessor(msg.predecessor);
    }
    if (this.#successors.has(from)) {
      const rest = this.#successors.toArray().filter((n) => n !== from);
      this.#successors.replace([...rest, ...msg.successors].filter((n) => !this.#isDead(n)));
      this.#successorsChanged();
      // The new first successor is only a backup until it answers.
      this.#stabilize();
    }
  }

  /** Pings a possible predecessor and adopts it if it answers and fits. */
  #considerPredecessor(node: bigint): void {
    this.#call(node, { type: 'ping' }, 'pong', (pong) => {
      if (!pong || this.#state !== 'joined') return;
      const pred = this.#predecessor;
      if (pred === null || this.space.between(node, pred, this.id)) this.#setPredecessor(node);
    });
  }

  // --- maintenance ------------------------------------------------------------------

  /**
   * Asks the successor for its predecessor and list; walks down the list past dead ones,
   * and back towards us through predecessors that lie between us and the successor.
   */
  #stabilize(): void {
    if (this.#stabilizing || this.#state !== 'joined') return;
    const succ = this.#successors.first ?? this.#predecessor;
    if (succ === null) return;
    this.#stabilizing = true;
    this.#stabilizeWith(succ, 0);
  }

  #stabilizeWith(succ: bigint, depth: number): void {
    this.#call(succ, { type: 'get-state' }, 'state', (state) => {
      if (this.#state !== 'joined') return;
      if (!state) {
        this.#stabilizing = false;
        if (depth > 0) return; // a closer candidate that never answered is simply not adopted
        this.#forget(succ);
        this.#probeSuccessors();
        return;
      }
      // At depth 0 succ is our successor; deeper, it lies between us and the successor
      // (checked below) and has just answered, so it may take the first place.
      if (depth === 0 || this.#successors.length === 0 || this.space.between(succ, this.id, this.successor)) {
        this.#setSuccessors([succ, ...state.successors]);
      }
      const p = state.predecessor;
      if (depth < RING_STABILIZE_MAX_STEPS && p !== null && p !== this.id && this.space.between(p, this.id, succ)) {
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
    const backups = this.#successors.toArray();
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
      this.#stabilize();
    };
    backups.forEach((node, i) => {
      this.#call(node, { type: 'ping' }, 'pong', (pong) => {
        if (this.#state !== 'joined') return;
        answered[i] = pong !== null;
        if (!pong) this.#forget(node);
        settle();
      });
    });
  }

  /** Pings the predecessor unless it spoke to us lately; `notifier` replaces it if it is gone. */
  #checkPredecessor(notifier?: bigint): void {
    const pred = this.#predecessor;
    if (pred === null || this.#checkingPredecessor) return;
    if (
      notifier === undefined &&
      this.#deps.clock.now() - this.#predecessorHeardAt < this.#intervals.checkPredecessor
    ) {
      return;
    }
    this.#checkingPredecessor = true;
    this.#call(pred, { type: 'ping' }, 'pong', (pong) => {
      this.#checkingPredecessor = false;
      if (this.#state !== 'joined' || pong || this.#predecessor !== pred) return;
      this.#forget(pred);
      if (notifier !== undefined && !this.#isDead(notifier)) this.#setPredecessor(notifier);
    });
  }

  /** Pings one backup successor (round robin) and drops it if it is gone. */
  #pingSuccessor(): void {
    if (this.#successors.length < 2) return;
    if (this.#pingCursor >= this.#successors.length) this.#pingCursor = 1;
    const node = this.#successors.at(this.#pingCursor++)!;
    this.#call(node, { type: 'ping' }, 'pong', (pong) => {
      if (!pong && this.#state === 'joined') this.#forget(node);
    });
  }

  /** Refreshes the next finger beyond the successor list, and every finger with the same owner. */
  #fixFinger(): void {
    const low = this.#fingers.firstRemoteIndex(this.#successors.last);
    const bits = this.space.bits;
    if (low >= bits) return;
    if (this.#nextFinger < low || this.#nextFinger >= bits) this.#nextFinger = low;
    const i = this.#nextFinger;
    const start = this.space.fingerStart(this.id, i);
    this.#route(start, [], true, (r) => {
      if (this.#state !== 'joined') return;
      for (const dead of r.deadNodes) this.#forget(dead);
      const owner = r.owner;
      const backups = r.ownersList.slice(1);
      if (owner === null) {
        this.#nextFinger = i + 1;
        return;
      }
      // Later fingers whose start still falls before the owner share it.
      let j = i;
      while (j < bits && (j === i || this.space.betweenRight(this.space.fingerStart(this.id, j), start, owner))) {
        this.#fingers.set(j, owner, backups);
        j++;
      }
      this.#nextFinger = j;
    });
  }

  // --- routing ----------------------------------------------------------------------

  /** Up to `count` known nodes in (id, key), closest to the key first, known-dead ones left out. */
  #closestPreceding(key: bigint, count: number, skip?: ReadonlySet<bigint>): bigint[] {
    const seen = new Set<bigint>(skip);
    const found: { id: bigint; d: bigint }[] = [];
    const consider = (n: bigint) => {
      if (seen.has(n)) return;
      seen.add(n);
      if (!this.space.between(n, this.id, key) || this.#isDead(n)) return;
      found.push({ id: n, d: this.space.distance(n, key) });
    };
    for (const n of this.#fingers.nodes()) consider(n);
    for (let i = 0; i < this.#successors.length; i++) consider(this.#successors.at(i)!);
    if (this.#predecessor !== null) consider(this.#predecessor);
    found.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
    return found.slice(0, count).map((f) => f.id);
  }

  /**
   * The iterative lookup behind lookup(), join() and fix-fingers. `initial` replaces the
   * local routing table as the first candidates (join's bootstrap member). With `verify`,
   * the owner must answer a ping whose predecessor confirms the key.
   */
  #route(
    key: bigint,
    initial: bigint[],
    verify: boolean,
    done: (r: {
      owner: bigint | null;
      ownersList: bigint[];
      hops: number;
      timeouts: number;
      deadNodes: bigint[];
      error: RingswarmError | null;
    }) => void,
  ): void {
    let hops = 0;
    let timeouts = 0;
    let steps = 0;
    const asked = new Set<bigint>();
    const deadNodes: bigint[] = [];
    const candidates: bigint[] = [];
    const finish = (owner: bigint | null, ownersList: bigint[], error: RingswarmError | null) =>
      done({ owner, ownersList, hops, timeouts, deadNodes, error });
    const addCandidates = (nodes: bigint[]) => {
      for (const n of nodes) {
        if (n === this.id || asked.has(n) || candidates.includes(n)) continue;
        candidates.push(n);
      }
      candidates.sort((a, b) => {
        const da = this.space.distance(a, key);
        const db = this.space.distance(b, key);
        return da < db ? -1 : da > db ? 1 : 0;
      });
    };

    const confirm = (owners: bigint[], index: number) => {
      const o = owners[index];
      if (o === undefined) {
        // Every possible owner named so far is gone: ask the live nodes we know before the key.
        addCandidates(this.#closestPreceding(key, RING_FIND_CANDIDATES).filter((n) => !deadNodes.includes(n)));
        step();
        return;
      }
      if (o === this.id) {
        finish(this.id, owners.slice(index), null);
        return;
      }
      if (!verify) {
        finish(o, owners.slice(index), null);
        return;
      }
      if (++steps > RING_LOOKUP_MAX_STEPS) {
        finish(null, [], new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, 'lookup took too many steps'));
        return;
      }
      this.#call(o, { type: 'ping' }, 'pong', (pong) => {
        if (this.#state === 'destroyed') return;
        if (!pong) {
          timeouts++;
          deadNodes.push(o);
          confirm(owners, index + 1);
          return;
        }
        const p = pong.predecessor;
        // The owner's own predecessor may be a node that joined after our informant's view.
        // key outside (p, o] means p lies in [key, o): p, or a node before it, owns the key.
        if (
          p !== null &&
          p !== this.id &&
          !this.space.betweenRight(key, p, o) &&
          !owners.includes(p) &&
          !deadNodes.includes(p)
        ) {
          confirm([p, ...owners.slice(index)], 0);
          return;
        }
        finish(o, owners.slice(index), null);
      });
    };

    // Nodes that answered, with how many dead nodes we knew when we last asked them.
    const answered = new Map<bigint, number>();
    const step = () => {
      let c = candidates.shift();
      let exclude: bigint[] = [];
      if (c === undefined) {
        // Every candidate is dead or asked: ask again the answered node closest to the key,
        // telling it which nodes are dead, so that it names others (down to its successors).
        let best: bigint | undefined;
        for (const [n, knownDead] of answered) {
          if (knownDead === deadNodes.length) continue;
          if (best === undefined || this.space.distance(n, key) < this.space.distance(best, key)) best = n;
        }
        if (best === undefined) {
          finish(
            null,
            [],
            new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, `no live node left to ask for ${key.toString(16)}`),
          );
          return;
        }
        c = best;
        exclude = deadNodes.slice(-RING_MAX_NODES_PER_MESSAGE);
      }
      if (++steps > RING_LOOKUP_MAX_STEPS) {
        finish(null, [], new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, 'lookup took too many steps'));
        return;
      }
      const asking = c;
      asked.add(asking);
      answered.set(asking, deadNodes.length);
      const body: RequestBody = exclude.length > 0 ? { type: 'find', key, exclude } : { type: 'find', key };
      this.#call(asking, body, 'found', (found) => {
        if (this.#state === 'destroyed') return;
        if (!found) {
          answered.delete(asking);
          timeouts++;
          deadNodes.push(asking);
          step();
          return;
        }
        hops++;
        if (found.done) {
          confirm(
            found.nodes.filter((n) => !deadNodes.includes(n)),
            0,
          );
          return;
        }
        addCandidates(found.nodes.filter((n) => this.space.between(n, asking, key) && !deadNodes.includes(n)));
        step();
      });
    };

    if (initial.length > 0) {
      addCandidates(initial);
      step();
      return;
    }
    if (this.#successors.length === 0 || this.owns(key)) {
      finish(this.id, [this.id, ...this.#successors.toArray()], null);
      return;
    }
    const owners = this.#successors.confidentOwnersOf(key).filter((n) => !this.#isDead(n));
    if (owners.length > 0) {
      confirm(owners, 0);
      return;
    }
    addCandidates(this.#closestPreceding(key, RING_FIND_CANDIDATES * 2));
    if (candidates.length === 0) addCandidates(this.#successors.toArray());
    step();
  }
}
