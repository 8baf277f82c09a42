/**
 * What a node's parts (its message handlers and its maintenance) may use: the routing state
 * and the ways to change it, and the requests. {@link RingNode} builds one per node; it is
 * not part of the package's API.
 */
import type { Clock } from '../util/clock.js';
import type { FingerTable } from './finger-table.js';
import type { RingSpace } from './id.js';
import type { DeadNodeMemory } from './liveness.js';
import type { RingLookupOutcome } from './lookup.js';
import type { RingMaintenance } from './maintenance.js';
import type { DhtNotice, DhtRequest, RingMessage, RingReply, RingRequest } from './messages.js';
import type { RingReplyOf, RingRequestBody, RingRpc } from './rpc.js';
import type { SuccessorList } from './successor-list.js';

export interface RingContext {
  readonly id: bigint;
  readonly space: RingSpace;
  readonly clock: Clock;
  readonly random: () => number;
  readonly successors: SuccessorList;
  readonly fingers: FingerTable;
  readonly liveness: DeadNodeMemory;
  readonly rpc: RingRpc;
  readonly maintenance: RingMaintenance;
  /** The node is part of a ring (created, restored or joined, and not destroyed). */
  readonly joined: boolean;
  /** This node is a leaf: attached to a gateway, not a member (it answers no ring requests). */
  readonly leaf: boolean;
  /** True when `node` is one of this member's leaves (its requests come from outside the ring). */
  isLeaf(node: bigint): boolean;
  /** Takes `node` as a leaf when there is room and it lies just after this member. */
  acceptLeaf(node: bigint): boolean;
  /** This node's gateway while it is a leaf, else null. */
  readonly gateway: bigint | null;
  readonly predecessor: bigint | null;
  /** When the predecessor last spoke to us, on the clock. */
  readonly predecessorHeardAt: number;
  setPredecessor(node: bigint | null): void;
  /** Replaces the successor list, leaving out known-dead nodes except the first. */
  setSuccessors(nodes: bigint[]): void;
  /** Tells listeners and the predecessor that the successor list changed. */
  successorsChanged(): void;
  /** Drops every pointer to a node that failed to answer (maintenance only). */
  forget(node: bigint): void;
  /** True when this node owns `key` by its own view: key in (predecessor, id]. */
  owns(key: bigint): boolean;
  /** Up to `count` known nodes in (id, key), closest to the key first, known-dead ones left out. */
  closestPreceding(key: bigint, count: number, skip?: ReadonlySet<bigint>): bigint[];
  /** A ring request; a node that never answers it is taken for dead. */
  call<T extends RingReply['type']>(
    to: bigint,
    body: RingRequestBody<RingRequest>,
    expect: T,
    callback: (reply: RingReplyOf<T> | null) => void,
  ): void;
  /** Sends a reply or notice. */
  send(to: bigint, msg: RingMessage): void;
  /** True while an open connection to `node` stands for its liveness (its loss is reported). */
  isLinked(node: bigint): boolean;
  /** True while a connection to `node` exists that is not closed (open, or still opening). */
  hasLink(node: bigint): boolean;
  /** Lookups are routed (option `routing: 'recursive'`). */
  readonly routed: boolean;
  /** Ring members this node holds open connections to: the hops a routed lookup may take. */
  linked(): Iterable<bigint>;
  /**
   * Finds out whether `node` is alive: a ping, or where lookups are routed and no connection
   * to it is open, a routed lookup of its own ID (it owns that key while it lives), so that
   * no connection is opened for the question. `callback(false)` also when no answer came.
   */
  probe(node: bigint, callback: (alive: boolean) => void): void;
  /** Runs a lookup from the local table (routed where the node routes, else iterative). */
  lookup(key: bigint, done: (outcome: RingLookupOutcome) => void): void;
  /** The DHT store's values for `key`, as it answers a get (none without a store). */
  dhtValues(key: bigint): string[];
  /** Hands a DHT request or notice to the store on top of the node. */
  deliverToDht(from: bigint, msg: DhtRequest | DhtNotice): void;
}
