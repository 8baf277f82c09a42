/**
 * The simulated network: ring nodes (the real RingNode code) on a virtual clock, with a
 * fixed latency per link, independent message loss, and counters of messages and bytes.
 */
import {
  type Clock,
  DhtStore,
  type DhtStoreOptions,
  decodeRingMessage,
  encodeRingMessage,
  type RingMessage,
  RingNode,
  type RingNodeOptions,
  RingSpace,
} from '@ringswarm/shared';
import { EventQueue, pairLatencyMs } from './event-queue.js';
import { Prng } from './prng.js';

export interface SimNetworkOptions {
  seed: number;
  /** Identifier bits (default 160). */
  bits?: number;
  /** Probability that any one message is lost (default 0). */
  loss?: number;
  /** One-way latency of a link is drawn once per link from [min, max] ms (default 10..100). */
  minLatencyMs?: number;
  maxLatencyMs?: number;
  /**
   * 'none': messages pass as objects; 'size': each is also encoded to count its JSON bytes;
   * 'full': encoded, serialized, parsed and validated on receipt, as over a real link.
   */
  wire?: 'none' | 'size' | 'full';
  /** Options for every node (the scenario's r, intervals). */
  node?: RingNodeOptions;
}

export interface SimHost {
  id: bigint;
  node: RingNode;
  alive: boolean;
  /** Ring messages sent by this host. */
  sent: number;
  bytesSent: number;
  /** The DHT store on this node, once attached. */
  dht: DhtStore | null;
}

export class SimNetwork {
  readonly queue = new EventQueue();
  readonly rng: Prng;
  readonly space: RingSpace;
  readonly hosts = new Map<bigint, SimHost>();
  readonly #opts: Required<Omit<SimNetworkOptions, 'node'>> & { node: RingNodeOptions };
  #latencySalt: number;
  /** Messages sent, by type. */
  readonly sentByType = new Map<string, number>();
  messagesSent = 0;
  messagesLost = 0;
  bytesSent = 0;
  /** Told of every message as it reaches a live host (tests watch what one node is sent). */
  onDeliver: ((from: bigint, to: bigint, msg: RingMessage) => void) | null = null;

  constructor(options: SimNetworkOptions) {
    this.rng = new Prng(options.seed);
    this.space = new RingSpace(options.bits ?? 160);
    this.#opts = {
      seed: options.seed,
      bits: this.space.bits,
      loss: options.loss ?? 0,
      minLatencyMs: options.minLatencyMs ?? 10,
      maxLatencyMs: options.maxLatencyMs ?? 100,
      wire: options.wire ?? 'none',
      node: { ...options.node, bits: this.space.bits },
    };
    this.#latencySalt = this.rng.uint32();
  }

  /** Changes the loss probability from now on. */
  setLoss(loss: number): void {
    this.#opts.loss = loss;
  }

  get now(): number {
    return this.queue.now;
  }

  /** A fresh identifier not used by any host. */
  randomId(): bigint {
    for (;;) {
      const id = this.rng.bigint(this.space.bits);
      if (!this.hosts.has(id)) return id;
    }
  }

  /** Creates a host running a RingNode (not yet joined). */
  addHost(id: bigint = this.randomId(), options: RingNodeOptions = {}): SimHost {
    if (this.hosts.has(id)) throw new Error('duplicate simulated node id');
    const nodeOptions = { ...this.#opts.node, ...options };
    const host: SimHost = {
      id,
      node: new RingNode(
        {
          id,
          send: (to, msg) => this.#send(host, to, msg),
          clock: this.clock,
          random: () => this.rng.next(),
          // Routed lookups hop over open links: here, one to every live node of the table, and
          // every live node counts as linked (an answer goes back the way its request came).
          ...(nodeOptions.routing === 'recursive'
            ? { linked: () => this.#linkedTo(host), isLinked: (n: bigint) => this.hosts.get(n)?.alive ?? false }
            : {}),
        },
        nodeOptions,
      ),
      alive: true,
      sent: 0,
      bytesSent: 0,
      dht: null,
    };
    this.hosts.set(id, host);
    return host;
  }

  /** The virtual clock: its time and its timers. */
  readonly clock: Clock = this.queue.clock;

  /** The live nodes of a host's table (predecessor, successors, fingers): its links, for routed lookups. */
  *#linkedTo(host: SimHost): Iterable<bigint> {
    const snap = host.node.snapshot();
    const table = new Set<bigint>(snap.successors);
    if (snap.predecessor !== null) table.add(snap.predecessor);
    for (const f of snap.fingers) table.add(f.node);
    for (const n of table) if (this.hosts.get(n)?.alive) yield n;
  }

  /** Puts a DHT store on a host's node. */
  attachDht(host: SimHost, options: DhtStoreOptions = {}): DhtStore {
    host.dht = new DhtStore({ node: host.node, clock: this.clock }, options);
    return host.dht;
  }

  /** Crashes a host: no goodbye, its timers stop, messages to it vanish. */
  fail(id: bigint): void {
    const host = this.hosts.get(id);
    if (!host?.alive) return;
    host.alive = false;
    host.node.destroy();
  }

  /** Removes a dead host from the table (its ID may be reused). */
  forget(id: bigint): void {
    const host = this.hosts.get(id);
    if (host && !host.alive) this.hosts.delete(id);
  }

  liveHosts(): SimHost[] {
    return [...this.hosts.values()].filter((h) => h.alive);
  }

  /** One-way latency of the link a-b, fixed per link. */
  latency(a: bigint, b: bigint): number {
    const lo = a < b ? a : b;
    const hi = a < b ? b : a;
    const { minLatencyMs: min, maxLatencyMs: max } = this.#opts;
    return pairLatencyMs(this.#latencySalt, Number(lo & 0xffffffffn), Number(hi & 0xffffffffn), min, max);
  }

  resetCounters(): void {
    this.sentByType.clear();
    this.messagesSent = 0;
    this.messagesLost = 0;
    this.bytesSent = 0;
    for (const h of this.hosts.values()) {
      h.sent = 0;
      h.bytesSent = 0;
    }
  }

  #send(from: SimHost, to: bigint, msg: RingMessage): void {
    if (!from.alive) return;
    this.messagesSent++;
    from.sent++;
    this.sentByType.set(msg.type, (this.sentByType.get(msg.type) ?? 0) + 1);
    let payload: RingMessage | string = msg;
    if (this.#opts.wire !== 'none') {
      const text = JSON.stringify(encodeRingMessage(this.space, msg));
      this.bytesSent += text.length;
      from.bytesSent += text.length;
      if (this.#opts.wire === 'full') payload = text;
    }
    if (this.#opts.loss > 0 && this.rng.next() < this.#opts.loss) {
      this.messagesLost++;
      return;
    }
    const target = this.hosts.get(to);
    const fromId = from.id;
    this.queue.schedule(this.latency(fromId, to), () => {
      if (!target?.alive) return;
      const m = typeof payload === 'string' ? decodeRingMessage(this.space, JSON.parse(payload)) : payload;
      this.onDeliver?.(fromId, to, m);
      target.node.handle(fromId, m);
    });
  }
}
