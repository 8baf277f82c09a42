/**
 * The DHT on the ring: key -> set of values, each value with its own time to live.
 * A value is stored at the key's owner (its successor on the ring) and copied to the
 * owner's next k successors; the publisher puts it again before it expires; the owner
 * re-copies its keys when its successors change and on a timer, hands a new predecessor the
 * keys it now owns (only those), and hands everything to its successor when leaving.
 *
 * Records in use: `discovery key -> provider peer IDs` (who has the file) and
 * `hash(file name) -> infohashes` (search by name, published for public shares only). Keys are the top m bits of the digest
 * ({@link RingSpace.fromBytes}).
 *
 * Authenticated: a provider value is always the put's sender (the link's proven remote), a
 * name value is signed by its publisher, who must be the put's sender (name-record.ts), and
 * copies are taken only from the nodes that replicate to us (our predecessor and the
 * `replicas` nodes behind it, found by asking predecessors for theirs; a graceful leaver is
 * our predecessor when it hands over) and, for a hand-over to a new predecessor, from our
 * successor; anything else is dropped and counted ({@link DhtStore.dropped}). Quotas bound what any sender can make us hold.
 */
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { fromHex } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import type { RingLookupObserver } from './lookup.js';
import {
  DHT_MAX_MESSAGE_VALUE_BYTES,
  DHT_MAX_TTL_MS,
  DHT_MAX_VALUES_PER_MESSAGE,
  type DhtNotice,
  type DhtRecord,
  type DhtRecordKind,
  type DhtRequest,
  dhtRecordBytes,
} from './messages.js';
import { verifyNameValue } from './name-record.js';
import type { RingNode } from './ring-node.js';

/** Successors that hold a copy of each key besides its owner. */
export const DHT_DEFAULT_REPLICAS = 3;
/** How often an owner copies its keys to its successors again (and drops expired values). */
export const DHT_REPLICATE_INTERVAL_MS = 60_000;
/** A publisher puts a value again after this fraction of its TTL. */
export const DHT_REPUBLISH_FRACTION = 0.5;
/**
 * Replication rounds between walks behind the predecessor (each walk asks two or three nodes
 * back for their predecessors, by a routed lookup where lookups are routed); a new
 * predecessor starts a walk at once.
 */
export const DHT_BEHIND_WALK_ROUNDS = 5;
/** A put that failed is tried again after this long. */
export const DHT_PUT_RETRY_MS = 30_000;
/** Values kept under one key (records); a full key evicts as {@link DhtStore} explains. */
export const DHT_MAX_VALUES_PER_KEY = 256;
/** Records one origin (a provider, a name publisher) may have here, over all keys; its oldest goes first. */
export const DHT_MAX_RECORDS_PER_SENDER = 1024;
/** Keys one origin may have records under; a new key past this drops the origin's oldest records. */
export const DHT_MAX_KEYS_PER_SENDER = 512;
/** Records held in all (about 0.5 KiB each at most: ~16 MiB); past it the heaviest deliverer's oldest go. */
export const DHT_MAX_RECORDS = 32_768;

/** Why an inbound DHT record or message was not taken, counted in {@link DhtStore.dropped}. */
export type DhtDropReason = 'not-neighbour' | 'bad-signature' | 'not-publisher';

export interface DhtStoreDeps {
  node: RingNode;
  /** Time and timers (the node's own clock). */
  clock: Clock;
}

export interface DhtStoreOptions {
  /** Copies besides the owner's (default 3). */
  replicas?: number;
  /** Default DHT_REPLICATE_INTERVAL_MS. */
  replicateIntervalMs?: number;
  /** A put the owner did not take is tried again after this long; default DHT_PUT_RETRY_MS. */
  putRetryMs?: number;
}

export interface DhtGetResult {
  values: string[];
  error: RingswarmError | null;
}

export type DhtStoreEvents = {
  close: [];
};

/** One record held here. */
interface Held {
  kind: DhtRecordKind;
  key: bigint;
  value: string;
  expires: number;
  /** Whose record it is: the provider, or the name's publisher (as a ring ID). */
  origin: bigint;
  /** The node that delivered it to us (the origin itself for a put, else a neighbour). */
  via: bigint;
  /** Order of first arrival; a refresh keeps it. */
  seq: number;
  dropped: boolean;
}

/**
 * The records of one origin or one deliverer, oldest first. Removal is lazy (a queue with
 * stale entries skipped), since deleting from the front of a large Set is slow in V8.
 */
class Holding {
  count = 0;
  #queue: Held[] = [];
  #head = 0;
  readonly #belongs: (held: Held) => boolean;

  constructor(belongs: (held: Held) => boolean) {
    this.#belongs = belongs;
  }

  add(held: Held): void {
    this.#queue.push(held);
    this.count++;
    if (this.#queue.length - this.#head > 2 * this.count + 64) {
      this.#queue = this.#queue.slice(this.#head).filter(this.#belongs);
      this.#head = 0;
    }
  }

  oldest(): Held | undefined {
    while (this.#head < this.#queue.length) {
      const held = this.#queue[this.#head];
      if (held !== undefined && this.#belongs(held)) return held;
      this.#head++;
    }
    return undefined;
  }
}

/**
 * Quotas and eviction (all counted in records):
 * - an origin past {@link DHT_MAX_RECORDS_PER_SENDER} or {@link DHT_MAX_KEYS_PER_SENDER} loses
 *   its own oldest records: a flooder only competes with itself;
 * - a full key ({@link DHT_MAX_VALUES_PER_KEY}) always takes a newcomer and evicts from the
 *   origin holding most values under that key, and among equals the latest arrival: providers
 *   that were there first and keep republishing (a refresh keeps their place) are never pushed
 *   out by a crowd of later ones, which can only churn the slots they took themselves (not
 *   first-come-wins: a newcomer gets in; not newest-wins: it does not displace incumbents);
 * - the store past {@link DHT_MAX_RECORDS} evicts the oldest record of the node that delivered
 *   most of them (a flooding sender or neighbour is the heaviest).
 */
export class DhtStore extends Emitter<DhtStoreEvents> {
  readonly #node: RingNode;
  readonly #clock: Clock;
  readonly #replicas: number;
  readonly #replicateIntervalMs: number;
  readonly #putRetryMs: number;
  /** key -> value -> record. */
  #records = new Map<bigint, Map<string, Held>>();
  /** origin -> its records, oldest first. */
  #byOrigin = new Map<bigint, Holding>();
  /** origin -> key -> how many of its records under that key. */
  #originKeys = new Map<bigint, Map<bigint, number>>();
  /** deliverer -> the records it delivered, oldest first. */
  #byVia = new Map<bigint, Holding>();
  #count = 0;
  #seq = 0;
  /** The nodes behind our predecessor that may replicate to us (up to `replicas` of them). */
  #behind = new Set<bigint>();
  #walking = false;
  /** Replication rounds since the last walk behind the predecessor. */
  #roundsSinceWalk = 0;
  readonly #dropped: Record<DhtDropReason, number> = { 'not-neighbour': 0, 'bad-signature': 0, 'not-publisher': 0 };
  /** What this node publishes itself, kept alive by republishing. */
  #published = new Map<string, { kind: DhtRecordKind; key: bigint; value: string; ttlMs: number; timer: unknown }>();
  #replicateTimer: unknown = null;
  /** The successors that received our keys last time. */
  #replicatedTo: bigint[] = [];
  #destroyed = false;
  readonly #listeners: {
    message: (from: bigint, msg: DhtRequest | DhtNotice) => void;
    successors: (list: bigint[]) => void;
    predecessor: (pred: bigint | null) => void;
    leaving: () => void;
    close: () => void;
  };
  #lastPredecessor: bigint | null;

  constructor(deps: DhtStoreDeps, options: DhtStoreOptions = {}) {
    super();
    this.#node = deps.node;
    this.#clock = deps.clock;
    this.#replicas = options.replicas ?? DHT_DEFAULT_REPLICAS;
    this.#replicateIntervalMs = options.replicateIntervalMs ?? DHT_REPLICATE_INTERVAL_MS;
    this.#putRetryMs = options.putRetryMs ?? DHT_PUT_RETRY_MS;
    this.#lastPredecessor = deps.node.predecessor;
    this.#listeners = {
      message: (from, msg) => this.#onMessage(from, msg),
      successors: (list) => this.#onSuccessors(list),
      predecessor: (pred) => this.#onPredecessor(pred),
      leaving: () => this.#handOver(),
      close: () => this.destroy(),
    };
    const n = this.#node;
    n.answerGetsWith((key) => this.#answerValues(key));
    n.on('message', this.#listeners.message);
    n.on('successors', this.#listeners.successors);
    n.on('predecessor', this.#listeners.predecessor);
    n.on('leaving', this.#listeners.leaving);
    n.on('close', this.#listeners.close);
    this.#scheduleReplication();
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Live values held here under `key` (as owner or replica). */
  localValues(key: bigint): string[] {
    const values = this.#records.get(key);
    if (!values) return [];
    const now = this.#clock.now();
    const out: string[] = [];
    for (const [v, held] of values) if (held.expires > now) out.push(v);
    return out;
  }

  /** The values one answer to a get carries: as many as fit in a message. */
  #answerValues(key: bigint): string[] {
    const values: string[] = [];
    let bytes = 0;
    for (const v of this.localValues(key)) {
      bytes += dhtRecordBytes(v, 0);
      if (values.length >= DHT_MAX_VALUES_PER_MESSAGE || bytes > DHT_MAX_MESSAGE_VALUE_BYTES) break;
      values.push(v);
    }
    return values;
  }

  /** Keys held here. */
  get size(): number {
    return this.#records.size;
  }

  /** Records held here (all keys, live or not yet swept); never above {@link DHT_MAX_RECORDS}. */
  get recordCount(): number {
    return this.#count;
  }

  /** Inbound records and messages not taken, by reason (since this store started). */
  get dropped(): Readonly<Record<DhtDropReason, number>> {
    return { ...this.#dropped };
  }

  /**
   * Publishes this node as a provider under `key` for `ttlMs` (at most {@link DHT_MAX_TTL_MS}),
   * and keeps publishing it before it expires until {@link unpublish}. `callback` reports
   * whether the owner stored it. The value is this node's ID: the owner takes it from the link.
   */
  provide(key: bigint, ttlMs: number, callback: (error: RingswarmError | null) => void = () => {}): void {
    this.#publish('provider', key, this.#node.space.toHex(this.#node.id), ttlMs, callback);
  }

  /**
   * Publishes a signed name value (name-record.ts `encodeNameValue`, signed by this node's
   * identity) under `key`, kept alive as {@link provide} does.
   */
  putName(
    key: bigint,
    value: string,
    ttlMs: number,
    callback: (error: RingswarmError | null) => void = () => {},
  ): void {
    this.#publish('name', key, value, ttlMs, callback);
  }

  #publish(
    kind: DhtRecordKind,
    key: bigint,
    value: string,
    ttlMs: number,
    callback: (error: RingswarmError | null) => void,
  ): void {
    if (this.#destroyed) return;
    if (!(ttlMs > 0)) throw new RangeError('ttl must be positive');
    const ttl = Math.min(ttlMs, DHT_MAX_TTL_MS);
    const id = `${key.toString(16)}:${value}`;
    const old = this.#published.get(id);
    if (old) this.#clock.clearTimeout(old.timer);
    const entry = { kind, key, value, ttlMs: ttl, timer: null as unknown };
    const again = (delay: number) =>
      this.#clock.setTimeout(() => {
        if (this.#destroyed || this.#published.get(id) !== entry) return;
        this.#publish(kind, key, value, ttl, () => {});
      }, delay);
    entry.timer = again(ttl * DHT_REPUBLISH_FRACTION);
    this.#published.set(id, entry);
    this.#store({ kind, key, value, ttlMs: ttl }, (error) => {
      if (error && !this.#destroyed && this.#published.get(id) === entry) {
        // Not stored: try again soon rather than at the next republish, when it may have expired.
        this.#clock.clearTimeout(entry.timer);
        entry.timer = again(Math.min(this.#putRetryMs, ttl * DHT_REPUBLISH_FRACTION));
      }
      callback(error);
    });
  }

  /**
   * Puts everything this node publishes again now: after the ring changed around us, a
   * record stored while it was still settling may sit at a node that no longer owns its key.
   */
  republishAll(): void {
    if (this.#destroyed) return;
    for (const { kind, key, value, ttlMs } of [...this.#published.values()])
      this.#publish(kind, key, value, ttlMs, () => {});
  }

  /** Stops republishing `value` under `key` (it lives out its TTL); a provider's value is its ID. */
  unpublish(key: bigint, value: string): void {
    const id = `${key.toString(16)}:${value}`;
    const entry = this.#published.get(id);
    if (!entry) return;
    this.#clock.clearTimeout(entry.timer);
    this.#published.delete(id);
  }

  /** Stops republishing this node as a provider under `key`. */
  unprovide(key: bigint): void {
    this.unpublish(key, this.#node.space.toHex(this.#node.id));
  }

  /**
   * Finds the values under `key`: asks the owner, and the owner's successors (which hold
   * copies) when the owner does not answer or knows none. Name values are checked by the
   * reader (name-record.ts); provider values are ring IDs. `observer` watches the lookup of
   * the owner.
   */
  get(key: bigint, callback: (result: DhtGetResult) => void, observer?: RingLookupObserver): void {
    if (this.#destroyed) return;
    this.#locate(
      key,
      (holders, error, ownerValues) => {
        if (holders.length === 0) {
          callback({ values: [], error });
          return;
        }
        // A routed lookup brought the owner's answer with it: no connection to it needed.
        if (ownerValues !== undefined && ownerValues.length > 0) {
          callback({ values: ownerValues, error: null });
          return;
        }
        const ask = (i: number) => {
          const h = holders[i];
          if (h === undefined) {
            callback({ values: [], error: null });
            return;
          }
          if (h === this.#node.id) {
            const values = this.localValues(key);
            if (values.length > 0) callback({ values, error: null });
            else ask(i + 1);
            return;
          }
          this.#node.request(h, { type: 'dht-get', key }, (reply) => {
            if (this.#destroyed) return;
            if (reply?.type === 'dht-get-reply' && reply.values.length > 0)
              callback({ values: reply.values, error: null });
            else ask(i + 1);
          });
        };
        // The owner that answered with none is not asked again; its replicas are.
        ask(ownerValues === undefined ? 0 : 1);
      },
      observer,
      true,
    );
  }

  /** Idempotent: clears timers, detaches from the node, emits `close` last. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#replicateTimer !== null) this.#clock.clearTimeout(this.#replicateTimer);
    this.#replicateTimer = null;
    for (const p of this.#published.values()) this.#clock.clearTimeout(p.timer);
    this.#published.clear();
    const n = this.#node;
    n.answerGetsWith(null);
    n.off('message', this.#listeners.message);
    n.off('successors', this.#listeners.successors);
    n.off('predecessor', this.#listeners.predecessor);
    n.off('leaving', this.#listeners.leaving);
    n.off('close', this.#listeners.close);
    this.emit('close');
    this.removeAllListeners();
  }

  // --- internals --------------------------------------------------------------------

  /** The key's owner followed by its successors (the replica holders). */
  #locate(
    key: bigint,
    callback: (holders: bigint[], error: RingswarmError | null, ownerValues?: string[]) => void,
    observer: RingLookupObserver = {},
    get = false,
  ): void {
    const node = this.#node;
    // Without a lookup to run, a watcher still sees one start and one end, after no hop.
    if (!node.joined) {
      const error = new RingswarmError(ErrorCode.RING_NOT_JOINED, 'DHT used before the node joined a ring');
      observer.start?.(key);
      observer.end?.({ owner: null, owners: [], hops: 0, timeouts: 0, error });
      callback([], error);
      return;
    }
    if (node.owns(key)) {
      const holders = [node.id, ...node.successors.slice(0, this.#replicas)];
      observer.start?.(key);
      observer.end?.({ owner: node.id, owners: holders, hops: 0, timeouts: 0, error: null });
      callback(holders, null);
      return;
    }
    node.lookup(
      key,
      (r) => {
        if (this.#destroyed) return;
        callback(r.owners.slice(0, this.#replicas + 1), r.error, r.values);
      },
      observer,
      get,
    );
  }

  #store(record: DhtRecord, callback: (error: RingswarmError | null) => void): void {
    const { kind, key, value, ttlMs } = record;
    this.#locate(key, (holders, error) => {
      const owner = holders[0];
      if (owner === undefined) {
        callback(error ?? new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, 'no owner found'));
        return;
      }
      if (owner === this.#node.id) {
        this.#keep(record, this.#node.id, this.#node.id);
        this.#replicate([record]);
        callback(null);
        return;
      }
      this.#node.request(
        owner,
        kind === 'provider' ? { type: 'dht-put', kind, key, ttlMs } : { type: 'dht-put', kind, key, value, ttlMs },
        (reply) => {
          if (this.#destroyed) return;
          if (reply?.type === 'dht-put-reply' && reply.ok) callback(null);
          else callback(new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, 'the owner did not store the value'));
        },
      );
    });
  }

  /** The ring ID of a name value's publisher, or null when its signature does not check. */
  #namePublisher(key: bigint, value: string): bigint | null {
    const record = verifyNameValue(this.#node.space, key, value);
    if (!record) {
      this.#dropped['bad-signature']++;
      return null;
    }
    return this.#node.space.fromBytes(fromHex(record.publisher));
  }

  /** Stores a record locally (keeping the later expiry), within the quotas. */
  #keep(record: DhtRecord, origin: bigint, via: bigint): void {
    const { kind, key, value } = record;
    const expires = this.#clock.now() + Math.min(record.ttlMs, DHT_MAX_TTL_MS);
    const old = this.#records.get(key)?.get(value);
    if (old) {
      if (old.expires < expires) old.expires = expires;
      if (old.via !== via) {
        this.#release(this.#byVia, old.via);
        old.via = via;
        this.#holding(this.#byVia, via, (h) => !h.dropped && h.via === via).add(old);
      }
      return;
    }
    // An origin competes with itself first.
    const mine = this.#byOrigin.get(origin);
    const keys = this.#originKeys.get(origin);
    while (
      mine &&
      (mine.count >= DHT_MAX_RECORDS_PER_SENDER || (keys && !keys.has(key) && keys.size >= DHT_MAX_KEYS_PER_SENDER))
    ) {
      const oldest = mine.oldest();
      if (!oldest) break;
      this.#drop(oldest);
    }
    const values = this.#records.get(key);
    if (values && values.size >= DHT_MAX_VALUES_PER_KEY) this.#drop(this.#keyVictim(values));
    while (this.#count >= DHT_MAX_RECORDS) {
      const victim = this.#globalVictim();
      if (!victim) break;
      this.#drop(victim);
    }
    const held: Held = { kind, key, value, expires, origin, via, seq: this.#seq++, dropped: false };
    let under = this.#records.get(key);
    if (!under) {
      under = new Map();
      this.#records.set(key, under);
    }
    under.set(value, held);
    this.#holding(this.#byOrigin, origin, (h) => !h.dropped).add(held);
    let perKey = this.#originKeys.get(origin);
    if (!perKey) {
      perKey = new Map();
      this.#originKeys.set(origin, perKey);
    }
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
    this.#holding(this.#byVia, via, (h) => !h.dropped && h.via === via).add(held);
    this.#count++;
  }

  #holding(map: Map<bigint, Holding>, id: bigint, belongs: (held: Held) => boolean): Holding {
    let holding = map.get(id);
    if (!holding) {
      holding = new Holding(belongs);
      map.set(id, holding);
    }
    return holding;
  }

  /** One record fewer for `id` in `map`. */
  #release(map: Map<bigint, Holding>, id: bigint): void {
    const holding = map.get(id);
    if (!holding) return;
    holding.count--;
    if (holding.count <= 0) map.delete(id);
  }

  /** A full key's victim: from the origin with most values under it, the latest arrival. */
  #keyVictim(values: Map<string, Held>): Held {
    const weight = new Map<bigint, number>();
    for (const h of values.values()) weight.set(h.origin, (weight.get(h.origin) ?? 0) + 1);
    let victim: Held | undefined;
    let victimWeight = -1;
    for (const h of values.values()) {
      const w = weight.get(h.origin) ?? 0;
      if (w > victimWeight || (w === victimWeight && victim !== undefined && h.seq > victim.seq)) {
        victim = h;
        victimWeight = w;
      }
    }
    // values is full, so never empty.
    return victim ?? (values.values().next().value as Held);
  }

  /** The store's victim: the oldest record of the node that delivered most. */
  #globalVictim(): Held | undefined {
    let heaviest: Holding | undefined;
    for (const h of this.#byVia.values()) if (!heaviest || h.count > heaviest.count) heaviest = h;
    return heaviest?.oldest();
  }

  #drop(held: Held): void {
    const under = this.#records.get(held.key);
    if (held.dropped || !under || under.get(held.value) !== held) return;
    held.dropped = true;
    under.delete(held.value);
    if (under.size === 0) this.#records.delete(held.key);
    this.#release(this.#byOrigin, held.origin);
    const perKey = this.#originKeys.get(held.origin);
    if (perKey) {
      const n = (perKey.get(held.key) ?? 1) - 1;
      if (n > 0) perKey.set(held.key, n);
      else perKey.delete(held.key);
      if (perKey.size === 0) this.#originKeys.delete(held.origin);
    }
    this.#release(this.#byVia, held.via);
    this.#count--;
  }

  /** Live records under the keys for which `pick` is true. */
  #recordsWhere(pick: (key: bigint) => boolean): DhtRecord[] {
    const now = this.#clock.now();
    const out: DhtRecord[] = [];
    for (const [key, values] of this.#records) {
      if (!pick(key)) continue;
      for (const [value, held] of values) {
        // Whole milliseconds on the wire (a clock may tell fractions: performance.now, the simulator's).
        const ttlMs = Math.floor(held.expires - now);
        if (ttlMs > 0) out.push({ kind: held.kind, key, value, ttlMs });
      }
    }
    return out;
  }

  /** Sends records in frames of at most DHT_MAX_VALUES_PER_MESSAGE records and DHT_MAX_MESSAGE_VALUE_BYTES. */
  #sendRecords(to: bigint, records: DhtRecord[]): void {
    const hexLength = this.#node.space.hexLength;
    let batch: DhtRecord[] = [];
    let bytes = 0;
    for (const r of records) {
      const cost = dhtRecordBytes(r.value, hexLength);
      if (
        batch.length >= DHT_MAX_VALUES_PER_MESSAGE ||
        (batch.length > 0 && bytes + cost > DHT_MAX_MESSAGE_VALUE_BYTES)
      ) {
        this.#node.send(to, { type: 'dht-store', records: batch });
        batch = [];
        bytes = 0;
      }
      batch.push(r);
      bytes += cost;
    }
    if (batch.length > 0) this.#node.send(to, { type: 'dht-store', records: batch });
  }

  /** Copies records to the first k successors. */
  #replicate(records: DhtRecord[], to: bigint[] = this.#node.successors.slice(0, this.#replicas)): void {
    if (records.length === 0) return;
    for (const s of to) this.#sendRecords(s, records);
  }

  #owned(): DhtRecord[] {
    return this.#recordsWhere((key) => this.#node.owns(key));
  }

  #scheduleReplication(): void {
    this.#replicateTimer = this.#clock.setTimeout(() => {
      if (this.#destroyed) return;
      this.#sweep();
      if (this.#node.joined) {
        this.#replicatedTo = this.#node.successors.slice(0, this.#replicas);
        this.#replicate(this.#owned(), this.#replicatedTo);
        // A change of predecessor walks at once (see below); the rounds between only catch
        // changes further back, so they walk every few rounds.
        if (++this.#roundsSinceWalk >= DHT_BEHIND_WALK_ROUNDS) this.#learnBehind();
      }
      this.#scheduleReplication();
    }, this.#replicateIntervalMs);
  }

  /** Drops expired values. */
  #sweep(): void {
    const now = this.#clock.now();
    for (const values of [...this.#records.values()]) {
      for (const held of [...values.values()]) if (held.expires <= now) this.#drop(held);
    }
  }

  /**
   * Learns the nodes behind our predecessor that may copy their keys to us. An owner
   * replicates to its first `replicas` successors, so up to `replicas - 1` nodes behind our
   * predecessor; one more is allowed because an owner's successor list lags a join just
   * ahead of it (a node that joined between it and us). Walks back asking each node for its
   * predecessor (a ping); the set found replaces the old one when the walk is done.
   */
  #learnBehind(): void {
    if (this.#walking || this.#destroyed) return;
    this.#roundsSinceWalk = 0;
    const start = this.#node.predecessor;
    if (start === null) {
      this.#behind = new Set();
      return;
    }
    this.#walking = true;
    const found = new Set<bigint>();
    const step = (at: bigint) => {
      if (this.#destroyed) return;
      this.#node.predecessorOf(at, (pred) => {
        if (this.#destroyed) return;
        const done = () => {
          this.#walking = false;
          this.#behind = found;
        };
        if (pred === undefined || pred === null || pred === this.#node.id || pred === start || found.has(pred)) {
          done();
          return;
        }
        found.add(pred);
        if (found.size >= this.#replicas) done();
        else step(pred);
      });
    };
    step(start);
  }

  /** True when `from` may copy records to us: it replicates to us, or it is handing our keys over. */
  #mayStore(from: bigint): boolean {
    const node = this.#node;
    return from === node.predecessor || from === node.successors[0] || this.#behind.has(from);
  }

  #onMessage(from: bigint, msg: DhtRequest | DhtNotice): void {
    if (this.#destroyed) return;
    switch (msg.type) {
      case 'dht-put': {
        const space = this.#node.space;
        let record: DhtRecord;
        if (msg.kind === 'provider') {
          // The value is the authenticated sender, never a field it filled in.
          record = { kind: 'provider', key: msg.key, value: space.toHex(from), ttlMs: msg.ttlMs };
        } else {
          const known = this.#records.get(msg.key)?.get(msg.value);
          const publisher = known?.kind === 'name' ? known.origin : this.#namePublisher(msg.key, msg.value);
          if (publisher !== from) {
            if (publisher !== null) this.#dropped['not-publisher']++;
            this.#node.send(from, { type: 'dht-put-reply', rid: msg.rid, ok: false });
            return;
          }
          record = { kind: 'name', key: msg.key, value: msg.value, ttlMs: msg.ttlMs };
        }
        this.#keep(record, from, from);
        this.#replicate([record]);
        this.#node.send(from, { type: 'dht-put-reply', rid: msg.rid, ok: true });
        return;
      }
      case 'dht-get': {
        this.#node.send(from, { type: 'dht-get-reply', rid: msg.rid, values: this.#answerValues(msg.key) });
        return;
      }
      case 'dht-store': {
        if (!this.#mayStore(from)) {
          this.#dropped['not-neighbour']++;
          return;
        }
        const space = this.#node.space;
        for (const r of msg.records) {
          // A record held already was checked when it came (the value includes its signature).
          const known = this.#records.get(r.key)?.get(r.value);
          const origin =
            known?.kind === r.kind
              ? known.origin
              : r.kind === 'provider'
                ? space.fromHex(r.value)
                : this.#namePublisher(r.key, r.value);
          if (origin !== null) this.#keep(r, origin, from);
        }
        return;
      }
    }
  }

  /** New successors among the first k get a copy of what we own at once. */
  #onSuccessors(list: bigint[]): void {
    if (this.#destroyed || !this.#node.joined) return;
    const now = list.slice(0, this.#replicas);
    const fresh = now.filter((s) => !this.#replicatedTo.includes(s));
    this.#replicatedTo = now;
    if (fresh.length > 0) this.#replicate(this.#owned(), fresh);
  }

  /**
   * A new predecessor between the old one and us owns part of our keys now: hand over those,
   * the keys in (old predecessor, new predecessor], and nothing else (not the copies we hold
   * of other nodes' keys, which a node that joins just below us could otherwise harvest). A
   * predecessor further back (the old one failed or left) means we own more keys: copy them
   * to our successors at once. With no old predecessor we cannot tell where the newcomer's
   * range begins, so it gets nothing: we are its successor, so our copies answer for its keys
   * (a get falls back to the owner's successors) until their publishers put them again.
   * Either way the nodes behind us that replicate to us are learnt again.
   */
  #onPredecessor(pred: bigint | null): void {
    if (this.#destroyed || pred === null) return;
    const old = this.#lastPredecessor;
    this.#lastPredecessor = pred;
    if (!this.#node.joined) return;
    const space = this.#node.space;
    if (old !== null && space.between(pred, old, this.#node.id)) {
      this.#sendRecords(
        pred,
        this.#recordsWhere((key) => space.betweenRight(key, old, pred)),
      );
    } else {
      this.#replicate(this.#owned());
    }
    // The old predecessor stays trusted until the walk from the new one is done.
    if (old !== null) this.#behind.add(old);
    this.#learnBehind();
  }

  /** Leaving: everything we hold goes to our successor, the keys' next owner. */
  #handOver(): void {
    if (this.#destroyed) return;
    const succ = this.#node.successors[0];
    if (succ !== undefined)
      this.#sendRecords(
        succ,
        this.#recordsWhere(() => true),
      );
  }
}
