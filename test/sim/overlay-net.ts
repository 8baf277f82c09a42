/**
 * The overlay on a simulated link layer: every node runs the real `net/` code the page and the
 * CLI run (an {@link Overlay} with its RingNode, DHT store and routed lookups, over a
 * {@link LinkPool} with its budget, idle sweep and eviction), and only the connections are
 * simulated. A ring message travels only over an open link. Opening one costs a signaling
 * exchange: routed over the ring's links like the real signaling router's ROUTE frames (or
 * through the tracker before the node has joined), with a set-up time drawn from a log-normal
 * distribution (median 300 ms, long tail); the remote accepts it only while its own budget
 * has room. Both ends count every connection they create, as Chrome counts RTCPeerConnections
 * against a tab's lifetime cap.
 *
 * Nodes: browser tabs with Pareto-distributed sessions and always-on CLI nodes. A tab that
 * closes leaves (its neighbours are told, its records handed over) and its connections close;
 * one that crashes says nothing, and its remotes notice after {@link CRASH_DETECT_MS}. A
 * reloading tab comes back a moment later with the same ID. Each departure is replaced, so
 * the ring keeps its size.
 */
import {
  type Clock,
  Emitter,
  ErrorCode,
  type Link,
  type LinkEntry,
  type LinkEvents,
  LinkPool,
  MAX_LINKS,
  nextHop,
  Overlay,
  type OverlayOptions,
  type RingNodeSnapshot,
  RingSpace,
} from '@ringswarm/shared';
import { EventQueue, pairLatencyMs, type SimEvent } from './event-queue.js';
import { Prng } from './prng.js';

/** A crashed node's connections are noticed this long after (ICE consent freshness gives up). */
export const CRASH_DETECT_MS = 10_000;
/** An offer that no one answers (remote gone, or its budget full) fails after this long. */
export const SIM_CONNECT_TIMEOUT_MS = 5_000;
/** The ring messages of a lookup: a connection opened to send one is the lookup's. */
const LOOKUP_MESSAGES = new Set(['find', 'ping', 'route']);
/** Signals per connection set-up, each way: the description, then the candidates. */
const SIGNALS_PER_SETUP = 2;

export interface OverlayNetOptions {
  seed: number;
  /** Link budget per node (default {@link MAX_LINKS}). */
  maxLinks?: number;
  /** Median connection set-up time (default 300 ms) and the log-normal spread (sigma, default 0.8). */
  setupMedianMs?: number;
  setupSigma?: number;
  /** One-way latency of a link, drawn once per pair from [min, max] ms (default 10..100). */
  minLatencyMs?: number;
  maxLatencyMs?: number;
  /** Median tab session (default 5 min) and the Pareto shape (default 1.5). */
  sessionMedianMs?: number;
  sessionShape?: number;
  /** Share of closing tabs that reload (same ID, back after 1-3 s; default 0.3). */
  reloadFraction?: number;
  /** Share of departures that are crashes, not closes (default 0.1). */
  crashFraction?: number;
  /** Options for every node's overlay. */
  overlay?: OverlayOptions;
  /**
   * How tabs take part (the overlay's `role`): 'auto' (default, as the page runs) attaches a
   * tab as a leaf where the ring has room; 'member' makes every tab a member of the ring.
   */
  tabRole?: 'auto' | 'member';
}

export type NodeKind = 'tab' | 'cli';

/** One simulated connection end: a {@link Link} whose bytes travel on the event queue. */
class SimLink extends Emitter<LinkEvents> implements Link {
  readonly remoteId: string;
  readonly initiator: boolean;
  #connected = false;
  #destroyed = false;
  #peer: SimLink | null = null;
  #pending: Uint8Array[] = [];
  readonly #net: OverlayNet;
  readonly owner: SimNode;

  constructor(net: OverlayNet, owner: SimNode, remoteId: string, initiator: boolean) {
    super();
    this.#net = net;
    this.owner = owner;
    this.remoteId = remoteId;
    this.initiator = initiator;
  }

  get connected(): boolean {
    return this.#connected && !this.#destroyed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  signal(): void {}

  send(frame: Uint8Array): boolean {
    if (this.#destroyed || !this.owner.alive) return false;
    if (!this.#connected) {
      this.#pending.push(frame);
      return true;
    }
    const peer = this.#peer!;
    this.#net.messagesOnLinks++;
    this.#net.queue.schedule(this.#net.latency(this.owner.id, this.remoteId), () => {
      if (peer.connected) peer.emit('frame', frame);
    });
    return true;
  }

  takeUnsent(): Uint8Array[] {
    const pending = this.#pending;
    this.#pending = [];
    return pending;
  }

  /** Both ends are set up: the channel opens and what was held goes out. */
  open(peer: SimLink): void {
    if (this.#destroyed) return;
    this.#peer = peer;
    this.#connected = true;
    this.emit('connect');
    for (const frame of this.takeUnsent()) this.send(frame);
  }

  close(code?: string): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#connected = false;
    this.#pending = [];
    const peer = this.#peer;
    this.#peer = null;
    // close:<code>:<this end>:<remote>:<who opened it>:<remote said HELLO>:<we are the remote's leaf>
    if (process.env.SIM_DEBUG && code) {
      const st = (n: SimNode | undefined) => (!n ? 'gone' : `${n.kind}-${n.state}`);
      const remote = this.#net.nodes.get(this.remoteId);
      const e = this.owner.pool.get(this.remoteId);
      this.#net.why(
        `close:${code}:${st(this.owner)}:${st(remote)}:${this.initiator ? 'ours' : 'theirs'}:${e?.routesSignals ? 'member' : ''}:${remote?.overlay.node.hasLeaf(this.owner.overlay.space.fromHex(this.owner.id)) ? 'their-leaf' : ''}`,
      );
    }
    this.emit('close', code);
    this.removeAllListeners();
    if (!peer) return;
    // A closing end is noticed at once (the channel's close reaches the remote); a crashed one
    // only when the remote's ICE gives up on it.
    const delay = this.owner.crashed ? CRASH_DETECT_MS : this.#net.latency(this.owner.id, this.remoteId);
    this.#net.queue.schedule(delay, () => peer.close());
  }

  selectedPair(): Promise<null> {
    return Promise.resolve(null);
  }

  fingerprints(): null {
    return null;
  }
}

/** One node: the real overlay and link pool, and what the scenario counts about it. */
export class SimNode {
  readonly id: string;
  readonly kind: NodeKind;
  readonly pool: LinkPool;
  readonly overlay: Overlay;
  alive = true;
  crashed = false;
  /** Connections this node created (either end), since the counters were reset. */
  connsCreated = 0;
  /** Connections this node opened to carry a lookup's own messages (FIND, ping, routed lookup). */
  lookupLinksOpened = 0;
  readonly #net: OverlayNet;
  /** When it started, or when the counters were reset if later. */
  countedSince: number;
  /** When the node goes (a tab's session end); null for CLI nodes. */
  departure: SimEvent | null = null;
  /** Ring messages sent by type when the counters were reset. */
  #sentAtReset: Record<string, number> = {};

  constructor(net: OverlayNet, id: string, kind: NodeKind, options: OverlayOptions, tabRole: 'auto' | 'member') {
    this.id = id;
    this.kind = kind;
    this.#net = net;
    this.countedSince = net.now;
    this.pool = new LinkPool(
      {
        peerId: id,
        clock: net.clock,
        createLink: (remoteId, initiator) => {
          this.connsCreated++;
          net.connsCreated++;
          if (process.env.SIM_DEBUG && kind === 'tab')
            net.why(`C:${this.state}:${initiator ? 'out' : 'in'}:${net.nodes.get(remoteId)?.kind ?? 'gone'}`);
          // The pool adds the entry after this: it holds one more link than it had.
          net.maxLinksSeen = Math.max(net.maxLinksSeen, this.pool.size + 1);
          return new SimLink(net, this, remoteId, initiator);
        },
        linkOptions: {},
        isPointer: (peerId) => this.overlay.isPointer(peerId),
        swarmFor: () => null,
        // As the client wires it: a peer that may be a leaf says HELLO once it is a member.
        ringMember: () => this.overlay.role === 'member' || this.overlay.member,
      },
      net.maxLinks,
    );
    this.overlay = new Overlay(
      {
        peerId: id,
        clock: net.clock,
        random: () => net.rng.next(),
        bootstrap: (k, member) => Promise.resolve(net.bootstrapMembers(k, id, member)),
        transport: {
          send: (peerId, frame) => {
            if (!this.pool.get(peerId)) this.#opening(peerId, frame);
            return net.open(this, peerId, true)?.link.send(frame) ?? false;
          },
          isOpen: (peerId) => this.pool.isOpen(peerId),
          linked: () => this.pool.routablePeers(),
          connect: (peerId) => {
            if (process.env.SIM_DEBUG && !this.pool.get(peerId))
              net.why(`finger:${kind}:${net.nodes.get(peerId)?.kind}`);
            void net.open(this, peerId, true);
          },
          drop: (peerId, code) => this.pool.drop(peerId, code),
        },
      },
      { ...options, role: kind === 'tab' ? tabRole : 'member' },
    );
    if (process.env.SIM_DEBUG)
      this.overlay.on('warning', (e) => net.why(`warn:${e.message.replace(/[0-9a-f]{40}/g, 'X').slice(0, 90)}`));
    // The client's wiring (client.ts): ring frames to the overlay, lost links reported to it.
    this.pool.on('overlay-frame', (from, frame) => this.overlay.handleFrame(from, frame));
    this.overlay.on('joined', () => {
      if (this.overlay.role === 'auto' && this.overlay.member) this.pool.announceMember();
    });
    this.pool.on('link-close', (remoteId, _code, _key, failed) => {
      if (failed) this.overlay.linkFailed(remoteId);
    });
  }

  /** For SIM_DEBUG's counts: a leaf (L), a member (M), or neither yet (U). */
  get state(): 'L' | 'M' | 'U' {
    return this.overlay.leaf ? 'L' : this.overlay.joined ? 'M' : 'U';
  }

  /** A ring message about to open a connection: counted for the lookups, and told why under SIM_DEBUG. */
  #opening(peerId: string, frame: Uint8Array): void {
    const type = (JSON.parse(new TextDecoder().decode(frame.subarray(1))) as { type: string }).type;
    if (LOOKUP_MESSAGES.has(type)) this.lookupLinksOpened++;
    if (!process.env.SIM_DEBUG) return;
    const snap = this.overlay.node.snapshot();
    const t = this.#net.space.fromHex(peerId);
    const rel =
      snap.predecessor === t
        ? 'pred'
        : snap.successors[0] === t
          ? 'succ'
          : snap.successors.includes(t)
            ? 'backup'
            : snap.fingers.some((f) => f.node === t)
              ? 'finger'
              : 'other';
    const rk = this.#net.nodes.get(peerId)?.kind ?? 'gone';
    this.#net.why(`${this.kind}:${this.state}:${type}:${rel}:${rk}`);
  }

  resetCounters(now: number): void {
    this.connsCreated = 0;
    this.countedSince = now;
    this.#sentAtReset = { ...this.overlay.stats().messagesSentByType };
  }

  /** Ring messages sent since the counters were reset, by type. */
  messagesSince(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [type, n] of Object.entries(this.overlay.stats().messagesSentByType)) {
      const d = n - (this.#sentAtReset[type] ?? 0);
      if (d > 0) out.set(type, d);
    }
    return out;
  }
}

/** Nodes, their simulated connections, and the virtual clock they share. */
export class OverlayNet {
  readonly queue = new EventQueue();
  readonly rng: Prng;
  readonly space = new RingSpace();
  readonly maxLinks: number;
  readonly nodes = new Map<string, SimNode>();
  /** Live ring members (joined), sorted: the oracle for owners and the tracker's bootstrap list. */
  readonly #members: string[] = [];
  readonly #opts: Required<Omit<OverlayNetOptions, 'overlay' | 'maxLinks' | 'seed' | 'tabRole'>>;
  readonly tabRole: 'auto' | 'member';
  readonly #overlay: OverlayOptions;
  readonly #latencySalt: number;
  connsCreated = 0;
  /** Connections created by tabs gone since the counters were reset, and their counted time. */
  goneTabConns = 0;
  goneTabMs = 0;
  /** Ring messages sent by nodes gone since the counters were reset, by type, and their counted time. */
  readonly goneMessages = new Map<string, number>();
  goneNodeMs = 0;
  /** Told of every node that starts (the scenario makes some of them providers). */
  onNodeAdded: ((node: SimNode) => void) | null = null;
  /** The most links any node held at once. */
  maxLinksSeen = 0;
  /** Frames sent over open links (ring messages). */
  messagesOnLinks = 0;
  /** Signals sent for connection set-ups, counting every hop through the ring (or the tracker). */
  signalMessages = 0;

  constructor(options: OverlayNetOptions) {
    this.rng = new Prng(options.seed);
    this.maxLinks = options.maxLinks ?? MAX_LINKS;
    this.#opts = {
      setupMedianMs: options.setupMedianMs ?? 300,
      setupSigma: options.setupSigma ?? 0.8,
      minLatencyMs: options.minLatencyMs ?? 10,
      maxLatencyMs: options.maxLatencyMs ?? 100,
      sessionMedianMs: options.sessionMedianMs ?? 5 * 60_000,
      sessionShape: options.sessionShape ?? 1.5,
      reloadFraction: options.reloadFraction ?? 0.3,
      crashFraction: options.crashFraction ?? 0.1,
    };
    this.#overlay = options.overlay ?? {};
    this.tabRole = options.tabRole ?? 'auto';
    this.#latencySalt = this.rng.uint32();
  }

  get now(): number {
    return this.queue.now;
  }

  readonly clock: Clock = this.queue.clock;

  /** Runs the network until `until`, letting promise callbacks (the tracker's answers) run in between. */
  async runUntil(until: number, stepMs = 50): Promise<void> {
    while (this.now < until) {
      this.queue.runUntil(Math.min(until, this.now + stepMs));
      await Promise.resolve();
      await Promise.resolve();
    }
  }

  /** A fresh random node ID. */
  randomId(): string {
    for (;;) {
      const id = this.space.toHex(this.rng.bigint(this.space.bits));
      if (!this.nodes.has(id)) return id;
    }
  }

  /** One-way latency between two nodes, fixed per pair. */
  latency(a: string, b: string): number {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const { minLatencyMs: min, maxLatencyMs: max } = this.#opts;
    return pairLatencyMs(
      this.#latencySalt,
      Number.parseInt(lo.slice(0, 8), 16),
      Number.parseInt(hi.slice(0, 8), 16),
      min,
      max,
    );
  }

  /** A connection set-up time: log-normal around the median. */
  setupMs(): number {
    // Box-Muller from two uniforms.
    const u = Math.max(this.rng.next(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.rng.next());
    return this.#opts.setupMedianMs * Math.exp(this.#opts.setupSigma * z);
  }

  /** A tab's session length: Pareto with the configured median and shape. */
  sessionMs(): number {
    const { sessionMedianMs: median, sessionShape: shape } = this.#opts;
    const scale = median / 2 ** (1 / shape);
    return scale / (1 - this.rng.next()) ** (1 / shape);
  }

  // --- nodes ---------------------------------------------------------------------

  /**
   * Starts a node: it joins the ring through the tracker's members (or attaches to it as a
   * leaf), or, given `state`, starts from that routing state (a large ring's converged one),
   * with no connection yet; `startInMs` holds the start back that long.
   */
  addNode(kind: NodeKind, id: string = this.randomId(), state?: RingNodeSnapshot, startInMs = 0): SimNode {
    const node = new SimNode(this, id, kind, this.#overlay, this.tabRole);
    this.nodes.set(id, node);
    // Members only: a leaf owns no key, and no one joins through it.
    node.overlay.on('joined', () => {
      if (node.alive && node.overlay.member) this.#addMember(id);
    });
    if (process.env.SIM_DEBUG) this.why(state ? 'restored' : 'added');
    this.onNodeAdded?.(node);
    if (state) node.overlay.node.restore(state);
    else if (startInMs > 0) this.queue.schedule(startInMs, () => node.alive && node.overlay.start());
    else node.overlay.start();
    if (kind === 'tab') this.#scheduleDeparture(node);
    return node;
  }

  #scheduleDeparture(node: SimNode): void {
    node.departure = this.queue.schedule(this.sessionMs(), () => {
      if (!node.alive) return;
      const crash = this.rng.next() < this.#opts.crashFraction;
      const reload = !crash && this.rng.next() < this.#opts.reloadFraction;
      this.remove(node, crash);
      if (reload) this.queue.schedule(1_000 + 2_000 * this.rng.next(), () => this.addNode('tab', node.id));
      else this.addNode('tab');
    });
  }

  /** A node goes: it leaves the ring and closes its connections, or (`crash`) just stops. */
  remove(node: SimNode, crash = false): void {
    if (!node.alive) return;
    this.#removeMember(node.id);
    this.#account(node);
    if (crash) {
      node.alive = false;
      node.crashed = true;
    }
    node.overlay.destroy();
    node.alive = false;
    node.pool.destroy();
    this.queue.cancel(node.departure);
    if (this.nodes.get(node.id) === node) this.nodes.delete(node.id);
  }

  #addMember(id: string): void {
    const i = this.#insertionPoint(id);
    if (this.#members[i] !== id) this.#members.splice(i, 0, id);
  }

  #removeMember(id: string): void {
    const i = this.#insertionPoint(id);
    if (this.#members[i] === id) this.#members.splice(i, 1);
  }

  #insertionPoint(id: string): number {
    let lo = 0;
    let hi = this.#members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#members[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get memberCount(): number {
    return this.#members.length;
  }

  /** The live member that owns `key` (hex): the first at or after it. */
  ownerOf(key: string): string | null {
    if (this.#members.length === 0) return null;
    return this.#members[this.#insertionPoint(key) % this.#members.length]!;
  }

  /**
   * What the tracker answers `ring:bootstrap`: up to k random live members; for a peer that
   * may be a leaf, the two just before its ID first (signaling-server/handlers/ring-bootstrap.ts).
   */
  bootstrapMembers(k: number, asker: string, member = true): string[] {
    const out: string[] = [];
    const n = this.#members.length;
    if (!member && n > 0) {
      const at = this.#insertionPoint(asker);
      for (let i = 1; i <= Math.min(2, n, k); i++) {
        const m = this.#members[(at - i + n) % n]!;
        if (m !== asker && !out.includes(m)) out.push(m);
      }
    }
    for (let tries = 0; out.length < k && tries < 4 * k && n > 0; tries++) {
      const m = this.#members[this.rng.int(n)]!;
      if (m !== asker && !out.includes(m)) out.push(m);
    }
    return out;
  }

  // --- connections -----------------------------------------------------------------

  /**
   * The link from `a` to `remote`, opening one when there is none (what the signaling router
   * does): the offer reaches the remote after half the set-up time, which answers if its
   * budget has room; the channel opens after the other half.
   */
  open(a: SimNode, remote: string, forRing: boolean): LinkEntry | null {
    if (!a.alive || remote === a.id) return null;
    const existing = a.pool.get(remote);
    if (existing) return existing;
    const entry = a.pool.create(remote, true, forRing);
    if (!entry) return null;
    entry.proven = true;
    const hops = a.overlay.joined ? this.#signalHops(a, remote) : 1;
    this.signalMessages += SIGNALS_PER_SETUP * hops;
    const setup = this.setupMs();
    const link = entry.link as SimLink;
    this.queue.schedule(setup / 2, () => this.#offerArrives(a, link, remote, setup / 2, hops));
    this.queue.schedule(SIM_CONNECT_TIMEOUT_MS + setup, () => {
      if (!link.connected) link.close(ErrorCode.NO_ROUTE);
    });
    return entry;
  }

  #offerArrives(a: SimNode, linkA: SimLink, remote: string, rest: number, hops: number): void {
    const b = this.nodes.get(remote);
    if (linkA.destroyed || !a.alive || !b?.alive) return;
    const existing = b.pool.get(a.id);
    let unsent: Uint8Array[] = [];
    if (existing) {
      // Both offered at once: the lower ID keeps its offer, the other yields (as the router does).
      if (existing.link.connected || !existing.link.initiator || b.id < a.id) return;
      unsent = existing.link.takeUnsent();
      b.pool.retire(existing);
    }
    const entry = b.pool.create(a.id, false, false);
    if (!entry) {
      if (process.env.SIM_DEBUG) this.why('refused');
      return;
    }
    entry.proven = true;
    this.signalMessages += SIGNALS_PER_SETUP * hops;
    const linkB = entry.link as SimLink;
    for (const frame of unsent) linkB.send(frame);
    this.queue.schedule(rest, () => {
      if (linkA.destroyed || linkB.destroyed) {
        linkA.close(ErrorCode.NO_ROUTE);
        linkB.close(ErrorCode.NO_ROUTE);
        return;
      }
      linkA.open(linkB);
      linkB.open(linkA);
    });
  }

  /** Hops a signal from `a` to `remote` takes through the ring's links (greedy, as ROUTE frames go). */
  #signalHops(a: SimNode, remote: string): number {
    // A leaf's signals start at its gateway.
    const gateway = a.overlay.node.gateway;
    const first = gateway === null ? undefined : this.nodes.get(this.space.toHex(gateway));
    if (first?.alive) return 1 + this.#signalHopsFrom(first, remote);
    return this.#signalHopsFrom(a, remote);
  }

  #signalHopsFrom(a: SimNode, remote: string): number {
    const target = this.space.fromHex(remote);
    if (a.id === remote) return 0;
    let at = a;
    for (let hops = 1; hops <= 24; hops++) {
      const candidates: bigint[] = [];
      for (const p of at.pool.routablePeers()) candidates.push(this.space.fromHex(p));
      const hop = nextHop(this.space, this.space.fromHex(at.id), target, candidates);
      if (hop === null) return hops;
      const hex = this.space.toHex(hop);
      if (hex === remote) return hops;
      const next = this.nodes.get(hex);
      if (!next?.alive) return hops;
      at = next;
    }
    return 24;
  }

  /** Adds a departing node's counts to the totals of the gone. */
  #account(node: SimNode): void {
    const ms = this.now - node.countedSince;
    this.goneNodeMs += ms;
    if (node.kind === 'tab') {
      this.goneTabConns += node.connsCreated;
      this.goneTabMs += ms;
    }
    for (const [type, n] of node.messagesSince()) this.goneMessages.set(type, (this.goneMessages.get(type) ?? 0) + n);
  }

  /**
   * With SIM_DEBUG set: connections opened by what asked for them (the ring message and the
   * remote's place in the opener's table, or a finger link), closes by code, refused offers,
   * warnings; the scenario prints them. How the causes of connection churn are found.
   */
  readonly reasons = new Map<string, number>();
  why(reason: string): void {
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  /** Starts counting anew (after the ring has formed). */
  resetCounters(): void {
    this.connsCreated = 0;
    this.messagesOnLinks = 0;
    this.signalMessages = 0;
    this.maxLinksSeen = 0;
    this.reasons.clear();
    this.goneTabConns = 0;
    this.goneTabMs = 0;
    this.goneMessages.clear();
    this.goneNodeMs = 0;
    for (const n of this.nodes.values()) n.resetCounters(this.now);
  }

  /** Totals over the counted time, of the live and the gone: per tab, and ring messages per type. */
  totals(): { tabConns: number; tabMs: number; nodeMs: number; messages: Map<string, number> } {
    let tabConns = this.goneTabConns;
    let tabMs = this.goneTabMs;
    let nodeMs = this.goneNodeMs;
    const messages = new Map(this.goneMessages);
    for (const n of this.nodes.values()) {
      const ms = this.now - n.countedSince;
      nodeMs += ms;
      if (n.kind === 'tab') {
        tabConns += n.connsCreated;
        tabMs += ms;
      }
      for (const [type, count] of n.messagesSince()) messages.set(type, (messages.get(type) ?? 0) + count);
    }
    return { tabConns, tabMs, nodeMs, messages };
  }

  /** How right the ring is: members whose successor is the true one, and links held per node. */
  ringReport(): Record<string, number> {
    let right = 0;
    let links = 0;
    let full = 0;
    let fingerCount = 0;
    let fingerLinked = 0;
    const kinds: Record<string, number> = {};
    const m = this.#members;
    for (let i = 0; i < m.length; i++) {
      const node = this.nodes.get(m[i]!)!;
      const succ = node.overlay.node.successors[0];
      if (succ !== undefined && this.space.toHex(succ) === m[(i + 1) % m.length]) right++;
      links += node.pool.size;
      if (node.pool.size >= this.maxLinks) full++;
      const snap = node.overlay.node.snapshot();
      for (const e of node.pool.entries()) {
        const r = this.space.fromHex(e.link.remoteId);
        const kind = node.overlay.node.hasLeaf(r)
          ? 'leafL'
          : snap.successors.indexOf(r) >= 0
            ? `succL${Math.min(3, snap.successors.indexOf(r))}`
            : snap.predecessor === r
              ? 'predL'
              : node.overlay.isPointer(e.link.remoteId)
                ? 'fingerL'
                : e.routesSignals
                  ? 'otherMemberL'
                  : 'otherL';
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      const fingers = new Set(snap.fingers.map((f) => this.space.toHex(f.node)));
      fingerCount += fingers.size;
      for (const f of fingers) if (node.pool.isOpen(f)) fingerLinked++;
    }
    const per = (x: number) => Number((x / Math.max(1, m.length)).toFixed(2));
    return {
      members: m.length,
      rightSuccessor: right,
      meanLinks: per(links),
      fullNodes: full,
      fingers: per(fingerCount),
      fingersLinked: per(fingerLinked),
      ...Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, per(v)])),
    };
  }

  /** Every node goes; nothing is left on the queue's behalf. */
  destroy(): void {
    for (const n of [...this.nodes.values()]) this.remove(n);
  }
}
