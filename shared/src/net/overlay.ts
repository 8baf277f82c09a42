/**
 * The ring on the real network: one {@link RingNode} and its {@link DhtStore} whose
 * messages travel as RING frames over links, joined through the tracker's bootstrap members
 * with backoff. Links are the transport's business (the client's link pool and signaling
 * router); this class only decides what to send where. Signals routed hop by hop through the
 * ring (ROUTE frames) are the {@link SignalingRouter}'s; this class tells it the next hop
 * ({@link Overlay.nextHopTowards}). Provider and name records on the DHT are in
 * `discovery/providers.ts`.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { isPeerId } from '../protocol/ids.js';
import { DhtStore } from '../ring/dht-store.js';
import { RingSpace } from '../ring/id.js';
import { decodeRingMessage, encodeRingMessage, type RingMessage } from '../ring/messages.js';
import { RingNode } from '../ring/ring-node.js';
import { jitterMs } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import { decodeRingFrame, encodeRingFrame, nextHop, OverlayFrameType } from './overlay-wire.js';
import type { RingPosition, SignalStats } from './signal-router.js';

/** Maintenance intervals on the live network: short, because links are cheap to keep alive. */
export const OVERLAY_STABILIZE_INTERVAL_MS = 2_000;
export const OVERLAY_FIX_FINGERS_INTERVAL_MS = 5_000;
export const OVERLAY_CHECK_PREDECESSOR_INTERVAL_MS = 2_000;
export const OVERLAY_PING_SUCCESSORS_INTERVAL_MS = 3_000;
/**
 * How far a quiet neighbourhood stretches those intervals (stabilization up to every 16 s):
 * any change of predecessor or successors puts them back at once (see ring/maintenance.ts).
 */
export const OVERLAY_MAINTENANCE_BACKOFF = 8;
/**
 * A linked successor silent this long is pinged (and a linked predecessor a second later):
 * the transport reports a connection to a crashed peer lost only after 13 to 30 s, and the
 * watch finds it within about two of these intervals, for one ping and pong per interval.
 */
export const OVERLAY_WATCH_INTERVAL_MS = 4_000;
/**
 * Answer timeout for a node we already have an open link to. Data channels are reliable
 * and ordered, so a request is never resent: no answer in time means the node is gone.
 */
export const OVERLAY_RPC_TIMEOUT_MS = 1_500;
/** Answer timeout for a node we must first connect to (signaling plus ICE). */
export const OVERLAY_CONNECT_RPC_TIMEOUT_MS = 6_000;
/** A record the owner did not take (the ring still settling, say) is put again this soon. */
export const OVERLAY_PUT_RETRY_MS = 3_000;
/** After the ring changes around this peer, its own records are put again once it has been quiet this long. */
export const OVERLAY_REPUBLISH_SETTLE_MS = 2_000;
/**
 * ...and at the latest this long after the first change, even if it never goes quiet: peers
 * that join and leave next to us every second or two (one-off searches, reloading tabs) would
 * otherwise put the republish off for good, while records handed to them leave with them.
 */
export const OVERLAY_REPUBLISH_MAX_WAIT_MS = 8_000;
/**
 * How often a leaf puts its records again. A member does whenever the ring around it changes
 * (a record put while the ring was settling may sit at a node that no longer owns its key);
 * a leaf sees little of the ring, so it does on this clock as well.
 */
export const OVERLAY_LEAF_REPUBLISH_MS = 3 * 60_000;
/** Provider and name records live this long unless republished. */
export const OVERLAY_RECORD_TTL_MS = 20 * 60 * 1000;
/** First and largest pause between join attempts. */
export const OVERLAY_JOIN_RETRY_MS = 1_000;
export const OVERLAY_JOIN_RETRY_MAX_MS = 30_000;
/** Bootstrap members asked for per join attempt. */
export const OVERLAY_BOOTSTRAP_PEERS = 4;
/** Recent lookups kept for stats. */
export const OVERLAY_RECENT_LOOKUPS = 32;
/**
 * Fingers this peer holds connections to, at most (the link budget is 32): routed lookups
 * and signals hop over them. Distinct fingers number about log2 of the ring's size, less
 * those the successor list covers, so this is all of them up to rings of some thousands.
 */
export const OVERLAY_FINGER_LINKS = 12;
/** Finger links a member keeps however many leaves it routes for. */
export const OVERLAY_MIN_FINGER_LINKS = 3;
/** Positions in the successor list linked as fingers (the 2nd, 4th and 8th successor). */
export const OVERLAY_SUCCESSOR_FINGERS = [1, 3, 7];
/** How often the fingers without a connection are connected to (within {@link OVERLAY_FINGER_LINKS}). */
export const OVERLAY_FINGER_LINK_INTERVAL_MS = 5_000;
/**
 * A finger whose connection was lost or refused (its budget full, say: it closed ours to make
 * room) is not connected to again for this long: retrying at once would only push out another
 * peer's link there, which would come back and push out ours, each time a new connection
 * against the tab's lifetime cap.
 */
export const OVERLAY_FINGER_RETRY_MS = 5 * 60_000;
/**
 * Leaves a member takes (peers that route through it, see {@link OverlayOptions.role}). Their
 * links count against the member's budget beside its ring links (a successor list, a
 * predecessor and the finger links).
 */
export const OVERLAY_MAX_LEAVES = 16;
/**
 * ...and a peer that is a member by role (the CLI: always on, with no lifetime cap on its
 * connections) takes this many: a leaf's link there is one connection fewer at a tab, and
 * fewer tabs become members (a member tab opens several times what a leaf does). At 20 the
 * budget still holds its ring links, with the fewest finger links; at 24 the simulator's
 * members evicted one another's links until lookups suffered.
 */
export const OVERLAY_MAX_LEAVES_ALWAYS_ON = 20;
/** A leaf that lost its gateway attaches again within this long (see the `detached` handler). */
export const OVERLAY_REATTACH_SPREAD_MS = 3_000;
/** Lost connections remembered (for the finger retry), at most. */
const MAX_LOST_LINKS = 256;

export interface OverlayTransport {
  /**
   * Sends a frame to a peer, opening a link when there is none. False when no link can be
   * had, or when the link's channel is full and the caller should wait for it to drain (the
   * frame is still delivered).
   */
  send(peerId: string, frame: Uint8Array): boolean;
  /** True when an open (connected) link to the peer exists. */
  isOpen(peerId: string): boolean;
  /**
   * True when a link to the peer exists that is not closed, open or still opening (frames can
   * come in over a link before its opening is reported). Default: {@link isOpen}.
   */
  hasLink?(peerId: string): boolean;
  /**
   * Ring members with an open link (they said HELLO): the hops routed lookups may take. A
   * transport that hands back the same array until the set changes (as LinkPool does) spares
   * the overlay converting it again at every hop.
   */
  linked(): Iterable<string>;
  /** Opens a link to a peer that has none (a finger), sending nothing yet. */
  connect(peerId: string): void;
  /** Closes the link to a peer that broke the overlay protocol. */
  drop(peerId: string, code: string): void;
}

export interface OverlayDeps {
  peerId: string;
  clock: Clock;
  random(): number;
  transport: OverlayTransport;
  /**
   * Well-known ring members to join through (the tracker's `ring:bootstrap`); `member`
   * false when this peer may attach as a leaf (it is not to be named to others as a member).
   */
  bootstrap(k: number, member: boolean): Promise<string[]>;
}

export interface OverlayOptions {
  /** Successor-list length r (default 8): more survives more simultaneous failures, costs links. */
  successors?: number;
  /** Defaults: the OVERLAY_*_MS constants. */
  stabilizeIntervalMs?: number;
  fixFingersIntervalMs?: number;
  checkPredecessorIntervalMs?: number;
  pingSuccessorsIntervalMs?: number;
  /** Default {@link OVERLAY_MAINTENANCE_BACKOFF}; 1 keeps every interval as given. */
  maintenanceBackoff?: number;
  /** Default {@link OVERLAY_WATCH_INTERVAL_MS}; 0: no watch. */
  watchIntervalMs?: number;
  rpcTimeoutMs?: number;
  connectRpcTimeoutMs?: number;
  /** Default {@link OVERLAY_RECORD_TTL_MS}. */
  recordTtlMs?: number;
  /** How lookups travel (see RingNodeOptions.routing); default 'recursive'. */
  routing?: 'iterative' | 'recursive';
  /** Default {@link OVERLAY_FINGER_LINKS}; 0 opens no link for a finger. */
  fingerLinks?: number;
  /**
   * 'member' (default): joins the ring and keeps its pointers (a CLI node, which stays up).
   * 'auto' (a browser tab, which lives minutes): attaches as a leaf, with one link, to the
   * member just before its ID, which routes for it; it joins as a member only where the ring
   * needs one: a small ring (RING_SMALL_MEMBERS, 4 members), or members there that have no
   * room for another leaf. A member of the ring costs a tab a connection to each of
   * its ring pointers, and another whenever one of them goes: tens per hour where sessions
   * are short, against Chrome's 500 a tab's lifetime.
   */
  role?: 'member' | 'auto';
  /** Default {@link OVERLAY_MAX_LEAVES} for role 'auto', {@link OVERLAY_MAX_LEAVES_ALWAYS_ON} for 'member'. */
  maxLeaves?: number;
}

/** This peer's view of the ring, for the UI and the CLI. IDs are 40 hex digits. */
export interface RingStats {
  id: string;
  joined: boolean;
  /** A leaf: attached to `gateway`, not a member (its predecessor and fingers are empty). */
  leaf: boolean;
  gateway: string | null;
  /** A member's leaves. */
  leaves: number;
  predecessor: string | null;
  successors: string[];
  /** Distinct finger nodes, in finger order. */
  fingers: string[];
  /** The most recent lookups, oldest first. */
  lookups: { hops: number; ms: number }[];
  /** Signaling by path (the signaling router counts them). */
  signals: SignalStats;
  /** Ring messages sent and received (maintenance, lookups, DHT). */
  messagesSent: number;
  messagesReceived: number;
  /** {@link messagesSent} by message type (`get-state`, `state`, `ping`, `find`, …). */
  messagesSentByType: Record<string, number>;
  /** Peers dropped for malformed overlay frames or routing loops. */
  peersDropped: number;
  /** DHT keys held here, as owner or replica. */
  dhtRecords: number;
}

export type OverlayEvents = {
  joined: [];
  /** A non-fatal problem: a failed join attempt, a misbehaving peer. */
  warning: [error: Error];
  close: [];
};

/** The overlay's own part of {@link RingStats}: everything but signaling. */
export type OverlayStats = Omit<RingStats, 'signals'>;

export class Overlay extends Emitter<OverlayEvents> implements RingPosition {
  readonly peerId: string;
  readonly space = new RingSpace();
  readonly node: RingNode;
  readonly dht: DhtStore;
  /** How long provider and name records live unless republished. */
  readonly recordTtlMs: number;
  readonly #deps: OverlayDeps;
  #lookups: { hops: number; ms: number }[] = [];
  #counts = {
    messagesSent: 0,
    messagesReceived: 0,
    peersDropped: 0,
  };
  readonly #sentByType = new Map<string, number>();
  #joinTimer: unknown = null;
  #fingerTimer: unknown = null;
  #leafRepublishTimer: unknown = null;
  readonly #fingerLinks: number;
  /** The peers {@link #linkFingers} last chose to hold finger links to (kept like pointers). */
  #fingerLinksChosen = new Set<string>();
  /** What {@link OverlayTransport.linked} returned last, and it as ring IDs. */
  #linkedFrom: Iterable<string> | null = null;
  #linkedIds: bigint[] = [];
  /** Peers whose connection was lost, and when (oldest first). */
  readonly #lostAt = new Map<string, number>();
  #republishTimer: unknown = null;
  /** When the first ring change not yet answered by a republish happened. */
  #changedSince: number | null = null;
  #joinAttempts = 0;
  readonly #role: 'member' | 'auto';
  #started = false;
  #destroyed = false;

  constructor(deps: OverlayDeps, options: OverlayOptions = {}) {
    super();
    this.#deps = deps;
    this.peerId = deps.peerId;
    this.recordTtlMs = options.recordTtlMs ?? OVERLAY_RECORD_TTL_MS;
    const rpcTimeoutMs = options.rpcTimeoutMs ?? OVERLAY_RPC_TIMEOUT_MS;
    const connectRpcTimeoutMs = options.connectRpcTimeoutMs ?? OVERLAY_CONNECT_RPC_TIMEOUT_MS;
    const clock = deps.clock;
    this.node = new RingNode(
      {
        id: this.space.fromHex(deps.peerId),
        send: (to, msg) => this.#sendRing(to, msg),
        clock,
        random: deps.random,
        // An open data channel reports its loss (linkFailed): its neighbour needs no pings.
        isLinked: (to) => deps.transport.isOpen(this.#hex(to)),
        hasLink: (to) => {
          const { transport } = deps;
          const peer = this.#hex(to);
          return transport.hasLink ? transport.hasLink(peer) : transport.isOpen(peer);
        },
        linked: () => this.#linkedNodes(),
      },
      {
        ...(options.successors === undefined ? {} : { successors: options.successors }),
        stabilizeIntervalMs: options.stabilizeIntervalMs ?? OVERLAY_STABILIZE_INTERVAL_MS,
        fixFingersIntervalMs: options.fixFingersIntervalMs ?? OVERLAY_FIX_FINGERS_INTERVAL_MS,
        checkPredecessorIntervalMs: options.checkPredecessorIntervalMs ?? OVERLAY_CHECK_PREDECESSOR_INTERVAL_MS,
        pingSuccessorsIntervalMs: options.pingSuccessorsIntervalMs ?? OVERLAY_PING_SUCCESSORS_INTERVAL_MS,
        maintenanceBackoff: options.maintenanceBackoff ?? OVERLAY_MAINTENANCE_BACKOFF,
        watchIntervalMs: options.watchIntervalMs ?? OVERLAY_WATCH_INTERVAL_MS,
        rpcTimeoutMs: (to) => (deps.transport.isOpen(this.#hex(to)) ? rpcTimeoutMs : connectRpcTimeoutMs),
        rpcRetries: 0,
        routing: options.routing ?? 'recursive',
        maxLeaves: options.maxLeaves ?? (options.role === 'auto' ? OVERLAY_MAX_LEAVES : OVERLAY_MAX_LEAVES_ALWAYS_ON),
      },
    );
    this.#role = options.role ?? 'member';
    this.#fingerLinks = options.fingerLinks ?? OVERLAY_FINGER_LINKS;
    this.node.on('lookup', (result, ms) => {
      this.#lookups.push({ hops: result.hops, ms });
      if (this.#lookups.length > OVERLAY_RECENT_LOOKUPS) this.#lookups.shift();
    });
    this.node.on('joined', () => {
      if (this.node.leaf) this.#scheduleLeafRepublish();
      else this.#scheduleFingerLinks();
      this.emit('joined');
    });
    // A leaf that lost its gateway attaches (or joins) again through the tracker's members,
    // at a random moment within a spread: its gateway's other leaves lost it too, and taking
    // the member before them all at once would overfill it (each leaf it refused would join
    // as a member), where one after another they find the member the first of them became.
    this.node.on('detached', () => {
      this.#joinAttempts = 0;
      if (this.#joinTimer !== null) this.#deps.clock.clearTimeout(this.#joinTimer);
      this.#joinTimer = this.#deps.clock.setTimeout(
        () => void this.#tryJoin(),
        this.#deps.random() * OVERLAY_REATTACH_SPREAD_MS,
      );
    });
    this.node.on('successors', () => this.#republishSoon());
    this.node.on('predecessor', () => this.#republishSoon());
    this.dht = new DhtStore({ node: this.node, clock }, { putRetryMs: OVERLAY_PUT_RETRY_MS });
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  get joined(): boolean {
    return this.node.joined;
  }

  /** True while this peer is a leaf of the ring (see {@link OverlayOptions.role}). */
  get leaf(): boolean {
    return this.node.leaf;
  }

  /** True while this peer is a member of the ring: joined, and not as a leaf. */
  get member(): boolean {
    return this.node.joined && !this.node.leaf;
  }

  get role(): 'member' | 'auto' {
    return this.#role;
  }

  /** Joins the ring through the bootstrap members; retries with backoff until it is in. */
  start(): void {
    if (this.#started || this.#destroyed) return;
    this.#started = true;
    void this.#tryJoin();
  }

  async #tryJoin(): Promise<void> {
    if (this.#destroyed || this.node.joined) return;
    this.#joinTimer = null;
    let members: string[];
    try {
      members = (await this.#deps.bootstrap(OVERLAY_BOOTSTRAP_PEERS, this.#role === 'member')).filter(
        (p) => p !== this.peerId && isPeerId(p),
      );
    } catch (err) {
      this.#retryJoin(err as Error);
      return;
    }
    if (this.#destroyed || this.node.joined) return;
    if (members.length === 0) {
      this.node.create();
      return;
    }
    const attempt = (i: number): void => {
      const member = members[i];
      if (this.#destroyed || this.node.joined) return;
      if (member === undefined) {
        this.#retryJoin(new Error('no bootstrap member answered'));
        return;
      }
      const through = this.space.fromHex(member);
      const join = () =>
        this.node.join(through, (error: RingswarmError | null) => {
          if (error) attempt(i + 1);
        });
      if (this.#role === 'member') {
        join();
        return;
      }
      this.node.attach(through, (refusal) => {
        if (refusal === 'failed') attempt(i + 1);
        else if (refusal !== null) join();
      });
    };
    attempt(0);
  }

  /**
   * Puts this peer's records again once the ring around it has been quiet for a moment, or
   * once it has kept changing for {@link OVERLAY_REPUBLISH_MAX_WAIT_MS}.
   */
  #republishSoon(): void {
    if (this.#destroyed) return;
    const clock = this.#deps.clock;
    const now = clock.now();
    this.#changedSince ??= now;
    const delay = Math.max(
      0,
      Math.min(OVERLAY_REPUBLISH_SETTLE_MS, this.#changedSince + OVERLAY_REPUBLISH_MAX_WAIT_MS - now),
    );
    clock.clearTimeout(this.#republishTimer);
    this.#republishTimer = clock.setTimeout(() => {
      this.#republishTimer = null;
      this.#changedSince = null;
      if (!this.#destroyed && this.node.joined) this.dht.republishAll();
    }, delay);
  }

  /** A leaf's records, put again every {@link OVERLAY_LEAF_REPUBLISH_MS} while it is one. */
  #scheduleLeafRepublish(): void {
    if (this.#leafRepublishTimer !== null) this.#deps.clock.clearTimeout(this.#leafRepublishTimer);
    this.#leafRepublishTimer = this.#deps.clock.setTimeout(
      () => {
        this.#leafRepublishTimer = null;
        if (this.#destroyed || !this.node.leaf) return;
        this.dht.republishAll();
        this.#scheduleLeafRepublish();
      },
      jitterMs(OVERLAY_LEAF_REPUBLISH_MS, 0.25, this.#deps.random),
    );
  }

  /** Links to the fingers that have none, farthest first, within the finger budget; then again later. */
  #scheduleFingerLinks(): void {
    if (this.#destroyed || this.#fingerLinks <= 0) return;
    this.#fingerTimer = this.#deps.clock.setTimeout(
      () => {
        this.#fingerTimer = null;
        if (this.#destroyed) return;
        this.#linkFingers();
        this.#scheduleFingerLinks();
      },
      jitterMs(OVERLAY_FINGER_LINK_INTERVAL_MS, 0.25, this.#deps.random),
    );
  }

  /**
   * Links to the fingers, farthest first, within the finger budget. A finger stands for an
   * interval of the ring, [its start, the next finger's start): any node in it routes as well
   * as the exact successor of the start, so an interval that already holds a linked node is
   * left as it is. A node joining in front of a finger, which Chord would take as the new
   * finger, costs no connection (else every join would cost one to each of the log N nodes
   * whose fingers it falls under, and every leave as many). An interval without one is linked
   * through its finger, or, when that node lost or refused our connection lately (its budget
   * full, say), through the first of the finger's backups that did not.
   */
  #linkFingers(): void {
    if (this.node.leaf) return;
    const snap = this.node.snapshot();
    const { space } = this;
    const self = this.node.id;
    const neighbours = new Set<bigint>(snap.successors.slice(0, 1));
    if (snap.predecessor !== null) neighbours.add(snap.predecessor);
    const transport = this.#deps.transport;
    // Each leaf's link takes one finger link's place in the budget, down to a few (the far
    // ones, which save the most hops): links evicted to make room would only come back.
    const budget = Math.min(
      this.#fingerLinks,
      Math.max(OVERLAY_MIN_FINGER_LINKS, this.#fingerLinks - this.node.leafCount),
    );
    const open = [...this.#linkedNodes()];
    const retryAfter = this.#deps.clock.now() - OVERLAY_FINGER_RETRY_MS;
    const usable = (node: bigint) => {
      const hex = this.#hex(node);
      return transport.isOpen(hex) || (this.#lostAt.get(hex) ?? Number.NEGATIVE_INFINITY) <= retryAfter;
    };
    const chosen: bigint[] = [];
    /** Covers [from, to) with a linked node if one is there, else with the first usable candidate. */
    const cover = (from: bigint, to: bigint, candidates: readonly bigint[]) => {
      if (chosen.length >= budget) return;
      const inside = (n: bigint) => n === from || space.between(n, from, to);
      const node = open.find((n) => inside(n) && !neighbours.has(n)) ?? candidates.find(usable);
      if (node !== undefined && !neighbours.has(node) && !chosen.includes(node)) chosen.push(node);
    };
    // Runs of fingers on one node, each from its first index's start to the next run's.
    const runs: { from: bigint; node: bigint; backups: bigint[] }[] = [];
    for (const f of snap.fingers) {
      if (runs[runs.length - 1]?.node !== f.node) {
        runs.push({ from: space.fingerStart(self, f.index), node: f.node, backups: f.backups });
      }
    }
    for (let k = runs.length - 1; k >= 0; k--) {
      const run = runs[k]!;
      cover(run.from, runs[k + 1]?.from ?? self, [run.node, ...run.backups]);
    }
    // The finger table starts past the successor list, whose nodes stand in for the fingers
    // before it; a routed lookup can hop only to those it has links to: one of the 2nd-3rd,
    // one of the 4th-7th, and the 8th.
    for (const i of OVERLAY_SUCCESSOR_FINGERS) {
      const range = snap.successors.slice(i, 2 * i + 1);
      const first = range[0];
      const last = snap.successors[2 * i + 1] ?? range[range.length - 1];
      if (first !== undefined && last !== undefined) cover(first, last === first ? space.add(first, 1n) : last, range);
    }
    this.#fingerLinksChosen = new Set(chosen.map((n) => this.#hex(n)));
    for (const hex of this.#fingerLinksChosen) if (!transport.isOpen(hex)) transport.connect(hex);
  }

  /** Ring members with an open link, as ring IDs (converted once per set of links). */
  #linkedNodes(): readonly bigint[] {
    const peers = this.#deps.transport.linked();
    if (peers !== this.#linkedFrom) {
      this.#linkedFrom = peers;
      this.#linkedIds = [];
      for (const peer of peers) if (isPeerId(peer)) this.#linkedIds.push(this.space.fromHex(peer));
    }
    return this.#linkedIds;
  }

  #retryJoin(error: Error): void {
    if (this.#destroyed) return;
    this.emit('warning', new Error(`ring join: ${error.message}`));
    const delay = Math.min(OVERLAY_JOIN_RETRY_MS * 2 ** this.#joinAttempts++, OVERLAY_JOIN_RETRY_MAX_MS);
    this.#joinTimer = this.#deps.clock.setTimeout(() => void this.#tryJoin(), jitterMs(delay, 0.25, this.#deps.random));
  }

  /** True when the peer is one of this node's ring pointers (its link is worth keeping). */
  isPointer(peerId: string): boolean {
    if (!isPeerId(peerId)) return false;
    const id = this.space.fromHex(peerId);
    const snap = this.node.snapshot();
    return (
      this.node.gateway === id ||
      this.node.hasLeaf(id) ||
      snap.predecessor === id ||
      snap.successors.includes(id) ||
      snap.fingers.some((f) => f.node === id) ||
      this.#fingerLinksChosen.has(peerId)
    );
  }

  /**
   * The link to a peer broke or could not be made: requests waiting on it fail now, and a
   * ring neighbour is pinged at once (its pings were skipped while the link was open).
   */
  linkFailed(peerId: string): void {
    if (this.#destroyed || !isPeerId(peerId)) return;
    this.#lostAt.delete(peerId);
    this.#lostAt.set(peerId, this.#deps.clock.now());
    if (this.#lostAt.size > MAX_LOST_LINKS) this.#lostAt.delete(this.#lostAt.keys().next().value!);
    this.node.abandon(this.space.fromHex(peerId));
  }

  // --- frames ----------------------------------------------------------------------------

  /** Handles one overlay frame (a RING frame) from a linked peer; a malformed one drops that peer. */
  handleFrame(from: string, frame: Uint8Array): void {
    if (this.#destroyed) return;
    try {
      switch (frame[0]) {
        case OverlayFrameType.RING: {
          const msg = decodeRingMessage(this.space, decodeRingFrame(frame));
          this.#counts.messagesReceived++;
          this.node.handle(this.space.fromHex(from), msg);
          return;
        }
        default:
          throw new RingswarmError(ErrorCode.BAD_FRAME, `unknown overlay frame type ${frame[0]}`);
      }
    } catch (err) {
      if (!(err instanceof RingswarmError)) throw err;
      this.#dropPeer(from, ErrorCode.BAD_FRAME, err.message);
    }
  }

  #dropPeer(peerId: string, code: string, why: string): void {
    this.#counts.peersDropped++;
    this.emit('warning', new Error(`peer ${peerId}: ${code} ${why}`));
    this.#deps.transport.drop(peerId, code);
  }

  #sendRing(to: bigint, msg: RingMessage): void {
    if (this.#destroyed && msg.type !== 'leave' && msg.type !== 'dht-store') return;
    this.#counts.messagesSent++;
    this.#sentByType.set(msg.type, (this.#sentByType.get(msg.type) ?? 0) + 1);
    this.#deps.transport.send(this.#hex(to), encodeRingFrame(encodeRingMessage(this.space, msg)));
  }

  #hex(id: bigint): string {
    return this.space.toHex(id);
  }

  /** The next hop towards `target` among linked ring members (for the signaling router). */
  nextHopTowards(target: string, candidates: readonly string[]): string | null {
    // A leaf's every path starts at its gateway.
    const gateway = this.node.gateway;
    if (gateway !== null) {
      const hex = this.#hex(gateway);
      return candidates.includes(hex) ? hex : null;
    }
    const { space } = this;
    const self = this.node.id;
    const to = space.fromHex(target);
    if (candidates.includes(target)) return target;
    // A target between our predecessor and us that we have no link to is our predecessor's
    // (a leaf of its, or a member that just joined after it), unless our predecessor handed
    // it here (it is not among the candidates then): nowhere else is closer.
    const before = this.node.predecessor;
    if (before !== null && before !== self && space.between(to, before, self)) {
      const hex = this.#hex(before);
      return candidates.includes(hex) ? hex : null;
    }
    const hop = nextHop(
      space,
      self,
      to,
      candidates.map((c) => space.fromHex(c)),
    );
    if (hop !== null) return this.#hex(hop);
    // Routing ends here, before the target: a leaf between us and our successor that is not
    // ours may be our successor's (see RingNode.attach).
    const next = this.node.successors[0];
    if (next === undefined || next === self || !space.between(to, self, next)) return null;
    const hex = this.#hex(next);
    return candidates.includes(hex) ? hex : null;
  }

  stats(): OverlayStats {
    const snap = this.node.snapshot();
    const fingers: string[] = [];
    for (const f of snap.fingers) {
      const hex = this.#hex(f.node);
      if (!fingers.includes(hex)) fingers.push(hex);
    }
    const c = this.#counts;
    return {
      id: this.peerId,
      joined: this.node.joined,
      leaf: this.node.leaf,
      gateway: this.node.gateway === null ? null : this.#hex(this.node.gateway),
      leaves: this.node.leafCount,
      predecessor: snap.predecessor === null ? null : this.#hex(snap.predecessor),
      successors: snap.successors.map((s) => this.#hex(s)),
      fingers,
      lookups: [...this.#lookups],
      messagesSent: c.messagesSent,
      messagesReceived: c.messagesReceived,
      messagesSentByType: Object.fromEntries(this.#sentByType),
      peersDropped: c.peersDropped,
      dhtRecords: this.dht.size,
    };
  }

  /** Leaves the ring gracefully (neighbours are told, keys handed over), then stops. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#deps.clock.clearTimeout(this.#joinTimer);
    this.#deps.clock.clearTimeout(this.#republishTimer);
    this.#deps.clock.clearTimeout(this.#fingerTimer);
    if (this.#leafRepublishTimer !== null) this.#deps.clock.clearTimeout(this.#leafRepublishTimer);
    this.node.leave();
    this.dht.destroy();
    this.emit('close');
    this.removeAllListeners();
  }
}
