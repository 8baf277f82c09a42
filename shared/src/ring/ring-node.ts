/**
 * One Chord node as a pure state machine. Inputs are messages ({@link RingNode.handle})
 * and timer callbacks; outputs are messages through the injected `send`. Clock and
 * randomness are injected, so the same code runs over WebRTC and in the simulator.
 *
 * Pointer rule (from the verification literature on Chord): a node becomes our
 * successor, predecessor or finger only after it has itself talked to us, by answering a
 * request or by sending one. Entries behind the first successor are the first
 * successor's own (checked) list and serve as backups until stabilization reaches them.
 *
 * The parts: requests and retries in rpc.ts, the iterative lookup in lookup.ts, the
 * periodic tasks in maintenance.ts, the dead-node memory in liveness.ts and one handler
 * per inbound message type in handlers/.
 */
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { jitterMs } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import type { RingContext } from './context.js';
import { FingerTable, type RingFinger } from './finger-table.js';
import { dispatch } from './handlers/index.js';
import { RING_DEFAULT_BITS, RingSpace } from './id.js';
import { DeadNodeMemory, RING_DEAD_MEMORY_MS } from './liveness.js';
import {
  RING_FIND_CANDIDATES,
  RingLookup,
  type RingLookupDeps,
  type RingLookupObserver,
  type RingLookupOutcome,
  type RingLookupResult,
} from './lookup.js';
import {
  RING_CHECK_PREDECESSOR_INTERVAL_MS,
  RING_FIX_FINGERS_INTERVAL_MS,
  RING_MAINTENANCE_JITTER,
  RING_PING_SUCCESSORS_INTERVAL_MS,
  RING_STABILIZE_INTERVAL_MS,
  RingMaintenance,
  type RingMaintenanceTask,
} from './maintenance.js';
import type { DhtNotice, DhtReply, DhtRequest, RingMessage, RingReply, RingRequest } from './messages.js';
import { RING_ROUTE_TIMEOUT_MS, routeStep } from './route.js';
import {
  DHT_REPLY_TYPES,
  RING_RPC_RETRIES,
  RING_RPC_TIMEOUT_MS,
  type RingReplyOf,
  type RingRequestBody,
  RingRpc,
} from './rpc.js';
import { RING_DEFAULT_SUCCESSORS, SuccessorList } from './successor-list.js';

/** Times a JOIN may be sent on to the answering node's predecessor. */
export const RING_JOIN_MAX_REDIRECTS = 16;
/**
 * How often a leaf asks its gateway for its state: a member that joined between the two is
 * the one signals for the leaf are routed to now, so the leaf moves there.
 */
export const RING_LEAF_CHECK_INTERVAL_MS = 60_000;
/**
 * A ring of no more members than this (or than a successor list holds, if fewer) is small: a
 * node asked to attach joins it instead. Four hold a record and its three replicas. It counts
 * where the owner's successor list reaches round the whole ring; a list that does not and is
 * not full is a neighbourhood under repair, joined as before. Every member of a small ring
 * links to nearly every other and each that leaves costs the rest new links, so a floor below
 * the list's length keeps browser tabs out of them.
 */
export const RING_SMALL_MEMBERS = 4;

export interface RingNodeDeps {
  /** This node's identifier (< 2^m). */
  id: bigint;
  /** Delivers a message to another node; delivery may fail silently. */
  send(to: bigint, msg: RingMessage): void;
  /** Time and timers: the simulator's virtual clock, or the platform's. */
  clock: Clock;
  /** Uniform in [0, 1): jitter. */
  random(): number;
  /**
   * True while the transport holds an open connection to `node`, whose loss it reports
   * ({@link RingNode.abandon}): liveness pings to such a node are skipped. Default: never
   * (every node is pinged, as in the simulator).
   */
  isLinked?(node: bigint): boolean;
  /**
   * True while the transport holds a connection to `node` that is not closed, open or still
   * opening (a message can arrive over a connection before its opening is reported there).
   * Default: {@link isLinked}.
   */
  hasLink?(node: bigint): boolean;
  /**
   * The ring members the transport holds open connections to: the hops a routed lookup may
   * take (option `routing: 'recursive'`). Default: none.
   */
  linked?(): Iterable<bigint>;
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
  /**
   * How far a quiet neighbourhood stretches the maintenance intervals (doubling each quiet
   * round; see maintenance.ts). Default 1: never.
   */
  maintenanceBackoff?: number;
  /**
   * Where > 0, a successor and predecessor the transport holds open connections to are
   * watched: pinged whenever they were silent this long (see maintenance.ts). Default 0: the
   * periodic tasks and the transport's reports of lost connections only.
   */
  watchIntervalMs?: number;
  /**
   * How lookups travel. 'iterative' (default): the asker asks one node after another, each
   * answer naming closer ones; every node asked must be reachable from the asker. 'recursive':
   * the lookup is handed on hop by hop over open connections (ring/route.ts) and the owner
   * answers back along its path, so it needs no new connection; when no answer comes in
   * `routeTimeoutMs`, the asker looks up iteratively instead.
   */
  routing?: 'iterative' | 'recursive';
  /** Default {@link RING_ROUTE_TIMEOUT_MS}. */
  routeTimeoutMs?: number;
  /** Leaves this node takes while a member (see {@link RingNode.attach}); default 0. */
  maxLeaves?: number;
  /** Default {@link RING_LEAF_CHECK_INTERVAL_MS}. */
  leafCheckIntervalMs?: number;
}

/** Why {@link RingNode.attach} did not make this node a leaf. */
export type RingAttachRefusal =
  /** The ring has no more members than a successor list holds: join it instead. */
  | 'small'
  /** The member before our ID has no room for another leaf: join the ring instead (it needs a member there). */
  | 'full'
  /** No member answered: try another bootstrap member, or later. */
  | 'failed';

/** The routing state of a node, for inspection and for warm starts. */
export interface RingNodeSnapshot {
  predecessor: bigint | null;
  /** Nearest first. */
  successors: bigint[];
  fingers: RingFinger[];
}

export type RingNodeEvents = {
  /** The node joined (or created) a ring, or attached to one as a leaf. */
  joined: [];
  /** A leaf lost its gateway (it went, or stopped answering): it is outside the ring again. */
  detached: [];
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

export class RingNode extends Emitter<RingNodeEvents> {
  readonly id: bigint;
  readonly space: RingSpace;
  readonly #deps: RingNodeDeps;
  readonly #successors: SuccessorList;
  readonly #fingers: FingerTable;
  readonly #liveness: DeadNodeMemory;
  readonly #rpc: RingRpc;
  readonly #maintenance: RingMaintenance;
  /** What the handlers and the maintenance see of this node. */
  readonly #context: RingContext;
  readonly #lookupDeps: RingLookupDeps;
  readonly #autoMaintenance: boolean;
  readonly #recursive: boolean;
  readonly #routeTimeoutMs: number;
  #predecessor: bigint | null = null;
  #predecessorHeardAt = Number.NEGATIVE_INFINITY;
  #state: 'idle' | 'joining' | 'joined' | 'destroyed' = 'idle';
  /**
   * A leaf's gateway: one of the two members around its ID, which routes for it; null for a
   * member. The member before it first; the one after it when that one had no room.
   */
  #gateway: bigint | null = null;
  /** True when the gateway is the member after this leaf's ID (its owner), not the one before. */
  #gatewayAfter = false;
  #leafTimer: unknown = null;
  readonly #leafCheckIntervalMs: number;
  /** Answers routed gets (the DHT store on top sets it). */
  #valueSource: ((key: bigint) => string[]) | null = null;
  /** A member's leaves: peers that route through it, whose links it keeps. */
  readonly #leaves = new Set<bigint>();
  readonly #maxLeaves: number;

  constructor(deps: RingNodeDeps, options: RingNodeOptions = {}) {
    super();
    this.space = new RingSpace(options.bits ?? RING_DEFAULT_BITS);
    if (!this.space.contains(deps.id)) throw new RangeError('node id out of range');
    this.id = deps.id;
    this.#deps = deps;
    this.#successors = new SuccessorList(this.space, deps.id, options.successors ?? RING_DEFAULT_SUCCESSORS);
    this.#fingers = new FingerTable(this.space, deps.id);
    this.#liveness = new DeadNodeMemory(deps.clock, options.deadMemoryMs ?? RING_DEAD_MEMORY_MS);
    this.#rpc = new RingRpc(
      { clock: deps.clock, send: (to, msg) => deps.send(to, msg) },
      { timeoutMs: options.rpcTimeoutMs ?? RING_RPC_TIMEOUT_MS, retries: options.rpcRetries ?? RING_RPC_RETRIES },
    );
    this.#autoMaintenance = options.maintenance ?? true;
    this.#recursive = options.routing === 'recursive';
    this.#routeTimeoutMs = options.routeTimeoutMs ?? RING_ROUTE_TIMEOUT_MS;
    this.#maxLeaves = options.maxLeaves ?? 0;
    this.#leafCheckIntervalMs = options.leafCheckIntervalMs ?? RING_LEAF_CHECK_INTERVAL_MS;
    this.#context = this.#makeContext();
    this.#maintenance = new RingMaintenance(
      this.#context,
      {
        stabilize: options.stabilizeIntervalMs ?? RING_STABILIZE_INTERVAL_MS,
        fixFingers: options.fixFingersIntervalMs ?? RING_FIX_FINGERS_INTERVAL_MS,
        checkPredecessor: options.checkPredecessorIntervalMs ?? RING_CHECK_PREDECESSOR_INTERVAL_MS,
        pingSuccessors: options.pingSuccessorsIntervalMs ?? RING_PING_SUCCESSORS_INTERVAL_MS,
      },
      options.maintenanceBackoff ?? 1,
      options.watchIntervalMs ?? 0,
    );
    this.#lookupDeps = {
      self: this.id,
      space: this.space,
      find: (node, key, exclude, callback) =>
        this.#call(
          node,
          exclude.length > 0 ? { type: 'find', key, exclude } : { type: 'find', key },
          'found',
          callback,
        ),
      ping: (node, callback) => this.#call(node, { type: 'ping' }, 'pong', callback),
      closestPreceding: (key, count) => this.#closestPreceding(key, count),
    };
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

  /** A leaf's gateway (see {@link attach}); null for a member, or while outside the ring. */
  get gateway(): bigint | null {
    return this.#gateway;
  }

  /** True while this node is a leaf: attached to a gateway, not a member of the ring. */
  get leaf(): boolean {
    return this.#gateway !== null;
  }

  /**
   * True when `node` is one of this member's leaves: it routes through us, and it still lies
   * next to us, between us and our successor or between our predecessor and us (a member
   * that joined there took it over).
   */
  hasLeaf(node: bigint): boolean {
    return this.#leaves.has(node) && this.#inLeafRange(node);
  }

  /** Members a ring has at most while it is small (see {@link RING_SMALL_MEMBERS}). */
  get #smallRing(): number {
    return Math.min(this.#successors.capacity, RING_SMALL_MEMBERS);
  }

  /** This member's leaves that still have a link here and lie in its range. */
  get leafCount(): number {
    this.#pruneLeaves();
    let n = 0;
    for (const leaf of this.#leaves) if (this.#inLeafRange(leaf)) n++;
    return n;
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

  // --- create, join, leave ----------------------------------------------------------

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
    // Listeners (the DHT store's hand-over) start from this state, as if they had seen it form.
    if (this.#predecessor !== null) this.emit('predecessor', this.#predecessor);
  }

  /**
   * Joins the ring that `bootstrap` belongs to: looks up our own ID through it, sends JOIN
   * to the owner, and takes the JOIN-ACK's successor list.
   */
  join(bootstrap: bigint, callback: (error: RingswarmError | null) => void = () => {}): void {
    if (this.#state !== 'idle') {
      callback(new RingswarmError(ErrorCode.RING_JOIN_FAILED, `cannot join from state ${this.#state}`));
      return;
    }
    this.#state = 'joining';
    const iteratively = () =>
      new RingLookup(this.#lookupDeps, this.id, (result) => {
        if (this.#state !== 'joining') return;
        if (result.owners.length === 0) {
          this.#joinFailed(result.error?.message ?? 'no owner found for our id', callback);
          return;
        }
        this.#askToJoin(result.owners, RING_JOIN_MAX_REDIRECTS, callback);
      }).askFrom([bootstrap]);
    if (!this.#recursive) {
      iteratively();
      return;
    }
    // Routed: the bootstrap member hands our lookup on over its own connections.
    this.#route(bootstrap, this.id, (routed) => {
      if (this.#state !== 'joining') return;
      if (routed) this.#askToJoin(routed.owners, RING_JOIN_MAX_REDIRECTS, callback);
      else iteratively();
    });
  }

  /** Sends JOIN to the first of `owners`; the next one if it does not answer. */
  #askToJoin(owners: bigint[], redirects: number, callback: (error: RingswarmError | null) => void): void {
    const [owner, ...rest] = owners;
    if (owner === undefined) {
      this.#joinFailed('no owner of our id answered JOIN', callback);
      return;
    }
    this.#call(owner, { type: 'join' }, 'join-ack', (ack) => {
      if (this.#state !== 'joining') return;
      if (!ack) {
        this.#askToJoin(rest, redirects, callback);
        return;
      }
      const p = ack.predecessor;
      if (p !== null && p !== this.id && this.space.between(p, this.id, owner)) {
        // Its predecessor lies between us and it: that node (or one before it) is our successor.
        if (redirects > 0) this.#askToJoin([p, ...owners], redirects - 1, callback);
        else this.#joinFailed('JOIN kept being redirected', callback);
        return;
      }
      this.#successors.replace([owner, ...ack.successors].filter((n) => !this.#liveness.isDead(n)));
      this.#becomeJoined();
      this.emit('successors', this.#successors.toArray());
      if (p !== null && p !== this.id) this.#maintenance.considerPredecessor(p);
      callback(null);
    });
  }

  /**
   * Attaches to the ring that `bootstrap` belongs to as a leaf, not as a member: routes a
   * lookup of our own ID through it, and asks the member just before that ID (the owner's
   * predecessor, where routing towards our ID ends) to take us, or, when it has no room, the
   * member just after it (the owner, whose predecessor hands it what is routed to us). A
   * leaf holds one link, to that gateway: its lookups and signals go through it, and what is
   * routed to its ID the gateway delivers. Two members to choose from leave fewer leaves
   * without room, and fewer browser tabs become members. No maintenance runs; the link's
   * loss is the failure signal (`detached`), and every {@link RING_LEAF_CHECK_INTERVAL_MS}
   * the gateway's state says whether a member joined between the two (the leaf moves to it).
   * `callback` gets null once attached, else why not: a small ring ({@link RING_SMALL_MEMBERS},
   * `small`), or no room at either member (`full`), should be joined instead; `failed` means
   * no answer.
   */
  attach(bootstrap: bigint, callback: (refusal: RingAttachRefusal | null) => void): void {
    if (this.#state !== 'idle') {
      callback('failed');
      return;
    }
    this.#state = 'joining';
    this.#route(bootstrap, this.id, (routed) => {
      if (this.#state !== 'joining') return;
      const p = routed?.predecessor;
      if (!routed || routed.owners.length === 0) {
        this.#state = 'idle';
        callback('failed');
      } else if (p === null || p === undefined || p === this.id) {
        this.#state = 'idle';
        callback('small');
      } else {
        // The owner and its successors. A list that reaches round to the owner's predecessor
        // holds every member: small with at most RING_SMALL_MEMBERS. One that does not and
        // is short is a stretch of a larger ring still being repaired: joined too.
        const fewest = routed.owners.includes(p) ? this.#smallRing : this.#successors.capacity;
        if (routed.owners.length <= fewest) {
          this.#state = 'idle';
          callback('small');
        } else {
          this.#askToAttach(p, RING_JOIN_MAX_REDIRECTS, callback, false, fewest);
        }
      }
    });
  }

  /**
   * Asks `gateway` to take us as a leaf; `after`: it is the member after our ID, not the one
   * before. Its answer names its successors: one between it and us is asked instead (it is
   * closer); a list shorter than `fewest` means a small ring (or one under repair), to be
   * joined. The member before us that has no room names the one after us first: that one is
   * asked next.
   */
  #askToAttach(
    gateway: bigint,
    redirects: number,
    callback: (refusal: RingAttachRefusal | null) => void,
    after = false,
    fewest = this.#successors.capacity,
  ): void {
    const fail = (refusal: RingAttachRefusal) => {
      this.#state = 'idle';
      callback(refusal);
    };
    this.#call(gateway, { type: 'attach' }, 'attach-ack', (ack) => {
      if (this.#state !== 'joining') return;
      // A peer that is no member answers with nothing; a member alone, with no successors.
      if (!ack || (!ack.ok && ack.successors.length === 0)) {
        fail('failed');
        return;
      }
      const successors = ack.successors.filter((n) => n !== this.id);
      if (successors.length < fewest) {
        fail('small');
        return;
      }
      const next = successors[0]!;
      if (ack.ok) {
        this.#gateway = gateway;
        this.#gatewayAfter = after;
        // Our owners: the member after us and its successors.
        const owners = after ? [gateway, ...successors] : successors;
        this.#successors.replace(owners.filter((n) => !this.#liveness.isDead(n)));
        this.#state = 'joined';
        this.#scheduleLeafCheck();
        this.emit('joined');
        callback(null);
      } else if (after) {
        fail('full');
      } else if (this.space.between(next, gateway, this.id)) {
        if (redirects > 0) this.#askToAttach(next, redirects - 1, callback, false, fewest);
        else fail('failed');
      } else {
        // We lie just after it (or it would have named a closer one), and it has no room:
        // its successor is the member just after us.
        this.#askToAttach(next, 0, callback, true, fewest);
      }
    });
  }

  #clearLeafTimer(): void {
    if (this.#leafTimer !== null) this.#deps.clock.clearTimeout(this.#leafTimer);
    this.#leafTimer = null;
  }

  #scheduleLeafCheck(): void {
    this.#leafTimer = this.#deps.clock.setTimeout(
      () => {
        this.#leafTimer = null;
        this.#checkGateway();
      },
      jitterMs(this.#leafCheckIntervalMs, RING_MAINTENANCE_JITTER, this.#deps.random),
    );
  }

  /** A leaf's periodic look at its gateway: still there, still the member just before us? */
  #checkGateway(): void {
    if (this.#gateway === null || this.#state !== 'joined') return;
    const gateway: bigint = this.#gateway;
    this.#call(gateway, { type: 'get-state' }, 'state', (state) => {
      if (this.#gateway !== gateway || this.#state !== 'joined') return;
      if (!state) {
        this.#detach();
        return;
      }
      // A member joined between our gateway and us: it is one of the two around us now.
      const next = state.successors[0];
      const before = state.predecessor;
      const moveTo = this.#gatewayAfter
        ? before !== null && before !== this.id && this.space.between(before, this.id, gateway)
          ? before
          : null
        : next !== undefined && next !== this.id && this.space.between(next, gateway, this.id)
          ? next
          : null;
      if (moveTo !== null) {
        this.#state = 'joining';
        this.#gateway = null;
        const moved = (refusal: RingAttachRefusal | null) => {
          if (refusal !== null) this.#detach();
        };
        if (this.#gatewayAfter) this.#askToAttach(moveTo, 0, moved, true);
        else this.#askToAttach(moveTo, RING_JOIN_MAX_REDIRECTS, moved);
        return;
      }
      const owners = this.#gatewayAfter
        ? [gateway, ...state.successors].filter((n) => n !== this.id)
        : state.successors.filter((n) => n !== this.id && !this.space.between(n, gateway, this.id));
      // The ring changed near us (listeners republish, as a member's do on its own changes).
      if (owners.length > 0 && this.#successors.replace(owners)) this.emit('successors', this.#successors.toArray());
      this.#scheduleLeafCheck();
    });
  }

  /** A leaf without its gateway is outside the ring again (its owner attaches or joins anew). */
  #detach(): void {
    if (this.#state === 'destroyed') return;
    this.#clearLeafTimer();
    this.#gateway = null;
    this.#successors.replace([]);
    this.#state = 'idle';
    this.emit('detached');
  }

  /**
   * True when `node` lies between this member and its successor, or between its predecessor
   * and it (or this member is alone): a leaf there is routed to us or to our predecessor,
   * which hands it on to us.
   */
  #inLeafRange(node: bigint): boolean {
    const next = this.#successors.first;
    if (next === null || next === this.id || this.space.between(node, this.id, next)) return true;
    const before = this.#predecessor;
    return before !== null && before !== this.id && this.space.between(node, before, this.id);
  }

  /** Forgets leaves whose link is gone. */
  #pruneLeaves(): void {
    for (const n of this.#leaves) if (!this.#context.hasLink(n)) this.#leaves.delete(n);
  }

  /** An ATTACH from `node`: taken when this is a member, `node` lies just after it, and there is room. */
  #acceptLeaf(node: bigint): boolean {
    if (this.#state !== 'joined' || this.#gateway !== null || !this.#inLeafRange(node)) return false;
    this.#pruneLeaves();
    if (this.#leaves.has(node)) return true;
    if (this.leafCount >= this.#maxLeaves) return false;
    this.#leaves.add(node);
    return true;
  }

  #joinFailed(why: string, callback: (error: RingswarmError | null) => void): void {
    if (this.#state !== 'joining') return;
    this.#state = 'idle';
    callback(new RingswarmError(ErrorCode.RING_JOIN_FAILED, why));
  }

  #becomeJoined(): void {
    this.#state = 'joined';
    this.emit('joined');
    if (this.#autoMaintenance) this.startMaintenance();
  }

  /** Leaves gracefully: tells both neighbours (after `leaving` listeners ran), then destroys. */
  leave(): void {
    if (this.#state !== 'joined' || this.#gateway !== null) {
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

  // --- maintenance ------------------------------------------------------------------

  /** Starts (or restarts) the maintenance timers. */
  startMaintenance(): void {
    this.#maintenance.start();
  }

  /** Stops the maintenance timers; requests already sent still complete. */
  stopMaintenance(): void {
    this.#maintenance.stop();
  }

  /** Runs one maintenance task now (the simulator's synchronized rounds, and tests). */
  runMaintenance(task: RingMaintenanceTask): void {
    this.#maintenance.run(task);
  }

  // --- lookups and the DHT's requests -----------------------------------------------

  /**
   * Finds the owner of `key`, starting from the local table: iteratively (see
   * {@link RingLookup}, the owner confirmed with a ping) or routed (option `routing`). `observer` is told each hop as it happens,
   * and the end (also when the lookup cannot start). With `get`, a routed lookup brings the
   * owner's DHT values back too (`values`), so that a get needs no connection to the owner.
   */
  lookup(
    key: bigint,
    callback: (result: RingLookupResult) => void,
    observer: RingLookupObserver = {},
    get = false,
  ): void {
    if (this.#state !== 'joined') {
      const result: RingLookupResult = {
        owner: null,
        hops: 0,
        timeouts: 0,
        owners: [],
        error: new RingswarmError(ErrorCode.RING_NOT_JOINED, 'lookup before joining a ring'),
      };
      observer.start?.(key);
      observer.end?.(result);
      callback(result);
      return;
    }
    const started = this.#deps.clock.now();
    this.#lookup(
      key,
      (r) => {
        const result: RingLookupResult = {
          owner: r.owner,
          hops: r.hops,
          timeouts: r.timeouts,
          owners: r.owners,
          error: r.error,
          ...(r.values === undefined ? {} : { values: r.values }),
        };
        this.emit('lookup', result, this.#deps.clock.now() - started);
        callback(result);
      },
      observer,
      get,
    );
  }

  /** Starts a lookup where the local table leaves off. */
  #lookup(
    key: bigint,
    done: (outcome: RingLookupOutcome) => void,
    observer: RingLookupObserver = {},
    get = false,
  ): void {
    if (this.#gateway !== null) {
      this.#leafLookup(this.#gateway, key, done, observer, get);
      return;
    }
    if (this.#successors.length === 0 || this.owns(key)) {
      new RingLookup(this.#lookupDeps, key, done, observer).answerLocally([this.id, ...this.#successors.toArray()]);
      return;
    }
    const owners = this.#successors.confidentOwnersOf(key).filter((n) => !this.#liveness.isDead(n));
    // A possible owner is confirmed with a ping: over an open connection, or iteratively.
    if (owners.length > 0 && (!this.#recursive || this.#isLinked(owners[0]!))) {
      new RingLookup(this.#lookupDeps, key, done, observer).confirmFrom(owners);
      return;
    }
    const iteratively = (lookupObserver: RingLookupObserver) => {
      const nearest = this.#closestPreceding(key, RING_FIND_CANDIDATES * 2);
      new RingLookup(this.#lookupDeps, key, done, lookupObserver).askFrom(
        nearest.length > 0 ? nearest : this.#successors.toArray(),
      );
    };
    if (!this.#recursive) {
      iteratively(observer);
      return;
    }
    observer.start?.(key);
    const first = this.#firstHop(key);
    const answered = (routed: RingReplyOf<'routed'> | null, retry: boolean) => {
      if (this.#state === 'destroyed') return;
      if (!routed && retry) {
        // Lost on the way (a hop that just went), or it looped: once more, through the
        // next-best linked node, so most likely by another path, before asking iteratively.
        const second = this.#firstHop(key, first);
        if (second !== first) {
          this.#route(second, key, (again) => answered(again, false), get);
          return;
        }
      }
      if (!routed) {
        // The iterative lookup goes on telling the same observer (it has been told `start`).
        iteratively({ hop: (hop) => observer.hop?.(hop), end: (result) => observer.end?.(result) });
        return;
      }
      this.#settleRouted(routed, done, observer);
    };
    this.#route(first, key, (routed) => answered(routed, true), get);
  }

  /** A leaf's lookup: routed through its gateway, which is where every path from here starts. */
  #leafLookup(
    gateway: bigint,
    key: bigint,
    done: (outcome: RingLookupOutcome) => void,
    observer: RingLookupObserver,
    get: boolean,
    again = true,
  ): void {
    if (again) observer.start?.(key);
    this.#route(
      gateway,
      key,
      (routed) => {
        if (this.#state === 'destroyed') return;
        if (routed) {
          this.#settleRouted(routed, done, observer);
          return;
        }
        // Lost on the way (a hop that just went): once more, as a member would by another path.
        if (again && this.#gateway === gateway) {
          this.#leafLookup(gateway, key, done, observer, get, false);
          return;
        }
        // No answer through the gateway (it may have died without a word): is it still there?
        // Meanwhile the lookup goes on iteratively, from the owners of our own ID.
        if (this.#gateway === gateway) {
          this.#clearLeafTimer();
          this.#checkGateway();
        }
        new RingLookup(this.#lookupDeps, key, done, {
          hop: (hop) => observer.hop?.(hop),
          end: (result) => observer.end?.(result),
        }).askFrom(this.#successors.toArray());
      },
      get,
    );
  }

  /** A routed lookup's answer: its hops told to the observer, and the lookup's result. */
  #settleRouted(
    routed: RingReplyOf<'routed'>,
    done: (outcome: RingLookupOutcome) => void,
    observer: RingLookupObserver,
  ): void {
    const { path } = routed;
    for (let i = 1; i < path.length; i++) {
      const last = i === path.length - 1;
      observer.hop?.({ index: i, from: path[i]!, to: last ? routed.owners[0]! : path[i + 1]!, done: last });
    }
    const result: RingLookupResult = {
      owner: routed.owners[0]!,
      owners: routed.owners,
      hops: path.length - 1,
      timeouts: 0,
      error: null,
      ...(routed.values === undefined ? {} : { values: routed.values }),
    };
    observer.end?.(result);
    done({ ...result, deadNodes: [] });
  }

  /** The first hop of a routed lookup for `key` from here (other than `avoid`, if it can be). */
  #firstHop(key: bigint, avoid?: bigint): bigint {
    if (this.#gateway !== null) return this.#gateway;
    const step = routeStep(
      {
        space: this.space,
        self: this.id,
        predecessor: this.#predecessor,
        successor: this.#successors.first ?? null,
        from: null,
        linked: this.#linkedNodes(),
        ...(avoid === undefined ? {} : { visited: [avoid] }),
      },
      key,
    );
    return step.kind === 'forward' ? step.to : this.successor;
  }

  /**
   * Sends a routed lookup for `key` through `first`; `callback` gets its answer, or null when
   * none came in time, or it named no owner, or its owner is not the node that answered.
   */
  #route(first: bigint, key: bigint, callback: (routed: RingReplyOf<'routed'> | null) => void, get = false): void {
    this.#rpc.request(
      first,
      get ? { type: 'route', key, path: [this.id], get: true } : { type: 'route', key, path: [this.id] },
      ['routed'],
      (reply) => {
        const ok = reply !== null && reply.owners.length > 0 && reply.owners[0] === reply.path[reply.path.length - 1];
        callback(ok ? reply : null);
      },
      { timeoutMs: this.#routeTimeoutMs, retries: 0 },
    );
  }

  /** See {@link RingContext.probe}. */
  #probe(node: bigint, callback: (alive: boolean) => void): void {
    if (!this.#recursive || this.#isLinked(node)) {
      this.#call(node, { type: 'ping' }, 'pong', (pong) => callback(pong !== null));
      return;
    }
    this.#route(this.#firstHop(node), node, (routed) => {
      if (routed === null) {
        callback(false);
        return;
      }
      // The node owns its own ID while it lives: another owner means it is gone.
      const alive = routed.owners[0] === node;
      if (!alive) this.#liveness.markDead(node);
      callback(alive);
    });
  }

  #isLinked(node: bigint): boolean {
    return this.#deps.isLinked?.(node) ?? false;
  }

  /** Open connections to ring members, known-dead ones left out. */
  *#linkedNodes(): Iterable<bigint> {
    const linked = this.#deps.linked;
    if (!linked) return;
    for (const n of linked()) if (!this.#liveness.isDead(n)) yield n;
  }

  /**
   * Sends a DHT request (the `rid` is set here); `callback` gets the answer, or null when
   * none came after the retries.
   */
  request(to: bigint, body: RingRequestBody<DhtRequest>, callback: (reply: DhtReply | null) => void): void {
    this.#rpc.request(to, body, DHT_REPLY_TYPES, callback);
  }

  /**
   * Asks `node` for its predecessor (a ping, or where lookups are routed and no connection to
   * it is open, a routed lookup of its ID: no side effect at the other end); `callback` gets
   * it, or undefined when no answer came.
   */
  predecessorOf(node: bigint, callback: (predecessor: bigint | null | undefined) => void): void {
    if (this.#state === 'destroyed') return;
    if (this.#recursive && !this.#isLinked(node)) {
      // No connection to it: a routed lookup of its own ID, which it answers while it lives.
      // The nodes asked are those behind us (the DHT's replica window): through our
      // predecessor, which sends it back along the predecessors in a hop or two, not around the ring.
      const pred = this.#predecessor;
      const first = pred !== null && this.#isLinked(pred) ? pred : this.#firstHop(node);
      this.#route(first, node, (routed) => {
        callback(routed !== null && routed.owners[0] === node ? routed.predecessor : undefined);
      });
      return;
    }
    this.#rpc.request(node, { type: 'ping' }, ['pong'], (reply) => {
      callback(reply?.type === 'pong' ? reply.predecessor : undefined);
    });
  }

  /** The DHT store on top answers routed gets with `values` (null: none answered). */
  answerGetsWith(values: ((key: bigint) => string[]) | null): void {
    this.#valueSource = values;
  }

  /** Sends a DHT answer or notice. */
  send(to: bigint, msg: DhtReply | DhtNotice): void {
    if (this.#state === 'destroyed') return;
    this.#deps.send(to, msg);
  }

  /**
   * The transport lost its connection to `node` (it broke, or could not be made): every
   * request waiting on that node fails now, as if its time had run out, instead of at the
   * end of its timeout. A predecessor or successor no request was waiting on is pinged at
   * once, and forgotten if it does not answer.
   */
  abandon(node: bigint): void {
    this.#rpc.abandon(node);
    this.#leaves.delete(node);
    if (node === this.#gateway) {
      this.#detach();
      return;
    }
    // A neighbour's pings were skipped while its link was open: find out now whether it is
    // gone, unless a request that was waiting on it just failed (its callback handles that).
    // A leaf has no neighbours: only its gateway's loss matters to it (above).
    if (this.#state === 'joined' && this.#gateway === null && !this.#liveness.isDead(node)) {
      this.#maintenance.checkNeighbour(node);
    }
  }

  // --- inbound ----------------------------------------------------------------------

  /**
   * Delivers an inbound message. Ring messages must have passed
   * {@link decodeRingMessage} (or come from trusted in-process code); other types go to
   * `message` listeners, and answers to {@link request} go to their callbacks.
   */
  handle(from: bigint, msg: RingMessage): void {
    if (this.#state === 'destroyed' || from === this.id) return;
    this.#liveness.heard(from);
    if (from === this.#predecessor) this.#predecessorHeardAt = this.#deps.clock.now();
    this.#maintenance.heard(from);
    dispatch(this.#context, from, msg);
  }

  /** Idempotent: cancels timers and outstanding requests, emits `close` last. */
  destroy(): void {
    if (this.#state === 'destroyed') return;
    this.#state = 'destroyed';
    this.stopMaintenance();
    this.#clearLeafTimer();
    this.#leaves.clear();
    this.#rpc.destroy();
    this.emit('close');
    this.removeAllListeners();
  }

  // --- routing state ----------------------------------------------------------------

  /** A ring request; a node that does not answer it (after the retries) is taken for dead. */
  #call<T extends RingReply['type']>(
    to: bigint,
    body: RingRequestBody<RingRequest>,
    expect: T,
    callback: (reply: RingReplyOf<T> | null) => void,
  ): void {
    this.#rpc.request(to, body, [expect], (reply) => {
      if (reply === null) this.#liveness.markDead(to);
      callback(reply);
    });
  }

  #setPredecessor(node: bigint | null): void {
    const old = this.#predecessor;
    if (node === old) return;
    this.#predecessor = node;
    if (node !== null) this.#predecessorHeardAt = this.#deps.clock.now();
    this.#maintenance.changed();
    // A newcomer between the old predecessor and us: tell the old one, so that it stabilizes
    // soon (its own successor has not changed, so nothing else would bring its turn forward).
    if (old !== null && node !== null && this.#state === 'joined' && this.space.between(node, old, this.id)) {
      this.#deps.send(old, { type: 'successors', successors: this.#successors.toArray() });
    }
    this.emit('predecessor', node);
  }

  #successorsChanged(): void {
    const list = this.#successors.toArray();
    this.#maintenance.changed();
    this.emit('successors', list);
    // Push the change to the predecessor at once, so repairs spread in one round, not r.
    if (this.#predecessor !== null && this.#state === 'joined') {
      this.#deps.send(this.#predecessor, { type: 'successors', successors: list });
    }
  }

  #setSuccessors(nodes: bigint[]): void {
    const live = nodes.filter((n) => n === nodes[0] || !this.#liveness.isDead(n));
    if (this.#successors.replace(live)) this.#successorsChanged();
  }

  #forget(node: bigint): void {
    this.#fingers.remove(node);
    if (this.#successors.remove(node)) this.#successorsChanged();
    if (this.#predecessor === node) this.#setPredecessor(null);
  }

  #closestPreceding(key: bigint, count: number, skip?: ReadonlySet<bigint>): bigint[] {
    const seen = new Set<bigint>(skip);
    const found: { id: bigint; d: bigint }[] = [];
    const consider = (n: bigint) => {
      if (seen.has(n)) return;
      seen.add(n);
      if (!this.space.between(n, this.id, key) || this.#liveness.isDead(n)) return;
      found.push({ id: n, d: this.space.distance(n, key) });
    };
    for (const n of this.#fingers.nodes()) consider(n);
    for (let i = 0; i < this.#successors.length; i++) consider(this.#successors.at(i)!);
    if (this.#predecessor !== null) consider(this.#predecessor);
    found.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
    return found.slice(0, count).map((f) => f.id);
  }

  #makeContext(): RingContext {
    const node = this;
    return {
      id: this.id,
      space: this.space,
      clock: this.#deps.clock,
      random: () => this.#deps.random(),
      successors: this.#successors,
      fingers: this.#fingers,
      liveness: this.#liveness,
      rpc: this.#rpc,
      get maintenance() {
        return node.#maintenance;
      },
      get joined() {
        return node.#state === 'joined';
      },
      get leaf() {
        return node.#gateway !== null;
      },
      // Attached here, even if a member joined between since: its requests still start here.
      isLeaf: (n) => this.#leaves.has(n),
      acceptLeaf: (n) => this.#acceptLeaf(n),
      get gateway() {
        return node.#gateway;
      },
      routed: this.#recursive,
      get predecessor() {
        return node.#predecessor;
      },
      get predecessorHeardAt() {
        return node.#predecessorHeardAt;
      },
      setPredecessor: (n) => this.#setPredecessor(n),
      setSuccessors: (nodes) => this.#setSuccessors(nodes),
      successorsChanged: () => this.#successorsChanged(),
      forget: (n) => this.#forget(n),
      owns: (key) => this.owns(key),
      closestPreceding: (key, count, skip) => this.#closestPreceding(key, count, skip),
      call: (to, body, expect, callback) => this.#call(to, body, expect, callback),
      send: (to, msg) => this.#deps.send(to, msg),
      isLinked: (n) => this.#isLinked(n),
      hasLink: (n) => this.#deps.hasLink?.(n) ?? this.#isLinked(n),
      linked: () => this.#linkedNodes(),
      probe: (n, callback) => this.#probe(n, callback),
      lookup: (key, done) => this.#lookup(key, done),
      deliverToDht: (from, msg) => this.emit('message', from, msg),
      dhtValues: (key) => this.#valueSource?.(key) ?? [],
    };
  }
}
