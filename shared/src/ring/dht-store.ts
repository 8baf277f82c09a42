/**
 * The DHT on the ring: key -> set of values, each value with its own time to live.
 * A value is stored at the key's owner (its successor on the ring) and copied to the
 * owner's next k successors; the publisher puts it again before it expires; the owner
 * re-copies its keys when its successors change and on a timer, hands a new predecessor the
 * keys it now owns (only those), and hands everything to its successor when leaving.
 *
 * Records in use: `discovery key -> provider peer IDs` (who has the file) and
 * `hash(file name) -> infohashes` (search by name, published for public shares only). Keys are the top m bits of the digest
 * ({@link RingSpace.fromBytes}); values are lowercase hex.
 */
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import type { Clock } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import {
  DHT_MAX_TTL_MS,
  DHT_MAX_VALUES_PER_MESSAGE,
  type DhtNotice,
  type DhtRecord,
  type DhtRequest,
} from './messages.js';
import type { RingNode } from './ring-node.js';

/** Successors that hold a copy of each key besides its owner. */
export const DHT_DEFAULT_REPLICAS = 3;
/** How often an owner copies its keys to its successors again (and drops expired values). */
export const DHT_REPLICATE_INTERVAL_MS = 60_000;
/** A publisher puts a value again after this fraction of its TTL. */
export const DHT_REPUBLISH_FRACTION = 0.5;
/** A put that failed is tried again after this long. */
export const DHT_PUT_RETRY_MS = 30_000;
/** The most values kept under one key (the newest win). */
export const DHT_MAX_VALUES_PER_KEY = 256;

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

export class DhtStore extends Emitter<DhtStoreEvents> {
  readonly #node: RingNode;
  readonly #clock: Clock;
  readonly #replicas: number;
  readonly #replicateIntervalMs: number;
  readonly #putRetryMs: number;
  /** key -> value -> expiry time. */
  #records = new Map<bigint, Map<string, number>>();
  /** What this node publishes itself, kept alive by republishing. */
  #published = new Map<string, { key: bigint; value: string; ttlMs: number; timer: unknown }>();
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
    for (const [v, expires] of values) if (expires > now) out.push(v);
    return out;
  }

  /** Keys held here. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Publishes `value` under `key` for `ttlMs`, and keeps publishing it before it expires
   * until {@link unpublish}. `callback` reports whether the owner stored it.
   */
  put(key: bigint, value: string, ttlMs: number, callback: (error: RingswarmError | null) => void = () => {}): void {
    if (this.#destroyed) return;
    if (!(ttlMs > 0 && ttlMs <= DHT_MAX_TTL_MS)) throw new RangeError(`ttl must be in (0, ${DHT_MAX_TTL_MS}] ms`);
    const id = `${key.toString(16)}:${value}`;
    const old = this.#published.get(id);
    if (old) this.#clock.clearTimeout(old.timer);
    const entry = { key, value, ttlMs, timer: null as unknown };
    const again = (delay: number) =>
      this.#clock.setTimeout(() => {
        if (this.#destroyed || this.#published.get(id) !== entry) return;
        this.put(key, value, ttlMs);
      }, delay);
    entry.timer = again(ttlMs * DHT_REPUBLISH_FRACTION);
    this.#published.set(id, entry);
    this.#store(key, value, ttlMs, (error) => {
      if (error && !this.#destroyed && this.#published.get(id) === entry) {
        // Not stored: try again soon rather than at the next republish, when it may have expired.
        this.#clock.clearTimeout(entry.timer);
        entry.timer = again(Math.min(this.#putRetryMs, ttlMs * DHT_REPUBLISH_FRACTION));
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
    for (const { key, value, ttlMs } of [...this.#published.values()]) this.put(key, value, ttlMs);
  }

  /** Stops republishing `value` under `key` (it lives out its TTL). */
  unpublish(key: bigint, value: string): void {
    const id = `${key.toString(16)}:${value}`;
    const entry = this.#published.get(id);
    if (!entry) return;
    this.#clock.clearTimeout(entry.timer);
    this.#published.delete(id);
  }

  /**
   * Finds the values under `key`: asks the owner, and the owner's successors (which hold
   * copies) when the owner does not answer or knows none.
   */
  get(key: bigint, callback: (result: DhtGetResult) => void): void {
    if (this.#destroyed) return;
    this.#locate(key, (holders, error) => {
      if (holders.length === 0) {
        callback({ values: [], error });
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
      ask(0);
    });
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
  #locate(key: bigint, callback: (holders: bigint[], error: RingswarmError | null) => void): void {
    const node = this.#node;
    if (!node.joined) {
      callback([], new RingswarmError(ErrorCode.RING_NOT_JOINED, 'DHT used before the node joined a ring'));
      return;
    }
    if (node.owns(key)) {
      callback([node.id, ...node.successors.slice(0, this.#replicas)], null);
      return;
    }
    node.lookup(key, (r) => {
      if (this.#destroyed) return;
      callback(r.owners.slice(0, this.#replicas + 1), r.error);
    });
  }

  #store(key: bigint, value: string, ttlMs: number, callback: (error: RingswarmError | null) => void): void {
    this.#locate(key, (holders, error) => {
      const owner = holders[0];
      if (owner === undefined) {
        callback(error ?? new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, 'no owner found'));
        return;
      }
      if (owner === this.#node.id) {
        this.#keep(key, value, ttlMs);
        this.#replicate([{ key, value, ttlMs }]);
        callback(null);
        return;
      }
      this.#node.request(owner, { type: 'dht-put', key, value, ttlMs }, (reply) => {
        if (this.#destroyed) return;
        if (reply?.type === 'dht-put-reply' && reply.ok) callback(null);
        else callback(new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, 'the owner did not store the value'));
      });
    });
  }

  /** Stores a value locally, keeping the later expiry. */
  #keep(key: bigint, value: string, ttlMs: number): void {
    const expires = this.#clock.now() + Math.min(ttlMs, DHT_MAX_TTL_MS);
    let values = this.#records.get(key);
    if (!values) {
      values = new Map();
      this.#records.set(key, values);
    }
    const old = values.get(value);
    if (old === undefined && values.size >= DHT_MAX_VALUES_PER_KEY) {
      // Full: drop the value closest to expiry.
      let worst: string | undefined;
      for (const [v, e] of values) if (worst === undefined || e < values.get(worst)!) worst = v;
      if (worst !== undefined) values.delete(worst);
    }
    if (old === undefined || old < expires) values.set(value, expires);
  }

  /** Live records under the keys for which `pick` is true. */
  #recordsWhere(pick: (key: bigint) => boolean): DhtRecord[] {
    const now = this.#clock.now();
    const out: DhtRecord[] = [];
    for (const [key, values] of this.#records) {
      if (!pick(key)) continue;
      for (const [value, expires] of values) if (expires > now) out.push({ key, value, ttlMs: expires - now });
    }
    return out;
  }

  #sendRecords(to: bigint, records: DhtRecord[]): void {
    for (let i = 0; i < records.length; i += DHT_MAX_VALUES_PER_MESSAGE) {
      this.#node.send(to, { type: 'dht-store', records: records.slice(i, i + DHT_MAX_VALUES_PER_MESSAGE) });
    }
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
      }
      this.#scheduleReplication();
    }, this.#replicateIntervalMs);
  }

  /** Drops expired values. */
  #sweep(): void {
    const now = this.#clock.now();
    for (const [key, values] of this.#records) {
      for (const [v, expires] of values) if (expires <= now) values.delete(v);
      if (values.size === 0) this.#records.delete(key);
    }
  }

  #onMessage(from: bigint, msg: DhtRequest | DhtNotice): void {
    if (this.#destroyed) return;
    switch (msg.type) {
      case 'dht-put': {
        this.#keep(msg.key, msg.value, msg.ttlMs);
        this.#replicate([{ key: msg.key, value: msg.value, ttlMs: msg.ttlMs }]);
        this.#node.send(from, { type: 'dht-put-reply', rid: msg.rid, ok: true });
        return;
      }
      case 'dht-get': {
        const values = this.localValues(msg.key).slice(0, DHT_MAX_VALUES_PER_MESSAGE);
        this.#node.send(from, { type: 'dht-get-reply', rid: msg.rid, values });
        return;
      }
      case 'dht-store':
        for (const r of msg.records) this.#keep(r.key, r.value, r.ttlMs);
        return;
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
