/**
 * Discovery through the ring's DHT. {@link ProviderRecords} reads and writes the two kinds of
 * record (`discovery key -> provider peer IDs`, `hash(file name) -> infohashes`);
 * {@link SwarmProviders} keeps one swarm published and looks up its providers again and
 * again, so a download finds peers without the tracker.
 *
 * The ring never sees a private share's infohash: provider records live under the discovery
 * key (`discoveryKeyOf`), and name records, which hold the infohash by definition, are
 * published only for a share its seeder lists publicly.
 */

import type { PeerIdentity } from '../identity/identity.js';
import { isPeerId } from '../protocol/ids.js';
import type { DhtStore } from '../ring/dht-store.js';
import type { RingSpace } from '../ring/id.js';
import type { RingLookupObserver } from '../ring/lookup.js';
import { encodeNameValue, verifyNameValue } from '../ring/name-record.js';
import { fromHex, sha256 } from '../util/bytes.js';
import type { Clock } from '../util/clock.js';

/** Look the swarm up in the DHT again this soon while a download has no peer. */
export const LONELY_LOOKUP_MS = 3_000;
/** DHT lookups for a swarm that has peers (new providers join over time). */
export const DHT_LOOKUP_INTERVAL_MS = 60_000;

/** The ring as the records need it (the Overlay). */
export interface ProviderRing {
  readonly peerId: string;
  readonly space: RingSpace;
  readonly dht: DhtStore;
  readonly joined: boolean;
  readonly destroyed: boolean;
  /** How long records live unless republished. */
  readonly recordTtlMs: number;
}

/** Provider and name records in the DHT. */
export class ProviderRecords {
  readonly #ring: ProviderRing;
  readonly #identity: PeerIdentity;
  readonly #warn: (error: Error) => void;

  /**
   * @param identity signs this peer's name records (its peer ID is the ring's)
   * @param warn told when a record could not be published
   */
  constructor(ring: ProviderRing, identity: PeerIdentity, warn: (error: Error) => void) {
    this.#ring = ring;
    this.#identity = identity;
    this.#warn = warn;
  }

  get joined(): boolean {
    return this.#ring.joined;
  }

  #keyOf(digestHex: string): bigint {
    return this.#ring.space.fromBytes(fromHex(digestHex));
  }

  async #nameKey(name: string): Promise<bigint> {
    return this.#ring.space.fromBytes(await sha256(new TextEncoder().encode(name)));
  }

  /**
   * Publishes this peer as a provider of the share whose discovery key is `discoveryKey`
   * (kept alive until withdrawn).
   */
  provide(discoveryKey: string): void {
    const ring = this.#ring;
    if (ring.destroyed) return;
    // The owner stores the link's remote (this peer) as the value; no value is sent.
    ring.dht.provide(this.#keyOf(discoveryKey), ring.recordTtlMs, (error) => {
      if (error) this.#warn(new Error(`DHT publish of ${discoveryKey.slice(0, 8)}: ${error.message}`));
    });
  }

  withdraw(discoveryKey: string): void {
    if (this.#ring.destroyed) return;
    this.#ring.dht.unprovide(this.#keyOf(discoveryKey));
  }

  /**
   * Publishes `hash(name) -> infoHash`, so the file can be found by its exact name. The
   * record reveals the infohash to anyone who guesses the name: for public shares only. It is
   * signed by this peer's identity (ring/name-record.ts).
   */
  async publishName(name: string, infoHash: string): Promise<void> {
    const value = await this.#nameValue(name, infoHash);
    if (this.#ring.destroyed) return;
    this.#ring.dht.putName(value.key, value.value, this.#ring.recordTtlMs, (error) => {
      // Tried again soon by the store; said here so that a name nobody can find has a cause in the log.
      if (error) this.#warn(new Error(`DHT publish of the name "${name}": ${error.message}`));
    });
  }

  async withdrawName(name: string, infoHash: string): Promise<void> {
    const value = await this.#nameValue(name, infoHash);
    if (!this.#ring.destroyed) this.#ring.dht.unpublish(value.key, value.value);
  }

  /** Signed name values, one per (name, infohash): Ed25519 is deterministic, so withdraw finds it again. */
  async #nameValue(name: string, infoHash: string): Promise<{ key: bigint; value: string }> {
    const key = await this.#nameKey(name);
    return { key, value: await encodeNameValue(this.#ring.space, key, infoHash, this.#identity) };
  }

  /** Peers that published the share whose discovery key is `discoveryKey` (never this peer). */
  findProviders(discoveryKey: string): Promise<string[]> {
    return this.#get(this.#keyOf(discoveryKey)).then((values) =>
      values.filter((v) => isPeerId(v) && v !== this.#ring.peerId),
    );
  }

  /**
   * Infohashes published under this exact file name, from name records whose signature checks.
   * `observer` watches the ring lookup of the name's key.
   */
  async searchByName(name: string, observer?: RingLookupObserver): Promise<string[]> {
    const key = await this.#nameKey(name);
    const values = await this.#get(key, observer);
    const out = new Set<string>();
    for (const v of values) {
      const record = verifyNameValue(this.#ring.space, key, v);
      if (record) out.add(record.infoHash);
    }
    return [...out];
  }

  #get(key: bigint, observer?: RingLookupObserver): Promise<string[]> {
    return new Promise((resolve, reject) => {
      if (this.#ring.destroyed) {
        reject(new Error('overlay destroyed'));
        return;
      }
      this.#ring.dht.get(
        key,
        (result) => {
          if (result.error && result.values.length === 0) reject(result.error);
          else resolve(result.values);
        },
        observer,
      );
    });
  }
}

/** A swarm as its discovery sees it. */
export interface DiscoveredSwarm {
  /** Goes into name records only, and only for a public share. */
  readonly infoHash: string;
  /** The key of its provider records (`discoveryKeyOf`). */
  readonly discoveryKey: string;
  readonly done: boolean;
  readonly peerIds: readonly string[];
  readonly manifest: { name: string; files: readonly { path: string }[] } | null;
}

/** The records a swarm's discovery uses ({@link ProviderRecords}). */
export type SwarmRecords = Pick<
  ProviderRecords,
  'joined' | 'provide' | 'withdraw' | 'publishName' | 'withdrawName' | 'findProviders'
>;

export interface SwarmProvidersDeps {
  clock: Clock;
  records: SwarmRecords;
  swarm: DiscoveredSwarm;
  /**
   * Listed publicly: once complete, the names of its files are published (`hash(name) ->
   * infoHash`), so anyone can find it by name. False: no name record, nothing in the ring
   * that leads to the infohash.
   */
  public: boolean;
  /** A provider was found: open a link to it for this swarm. */
  connect(remoteId: string): void;
  warn(error: Error): void;
}

/**
 * One swarm on the DHT: this peer as one of its providers (and, for a public share once
 * complete, the names of its files), and a lookup loop for other providers: every
 * {@link DHT_LOOKUP_INTERVAL_MS}, or every {@link LONELY_LOOKUP_MS} while a download has no peer.
 */
export class SwarmProviders {
  readonly #deps: SwarmProvidersDeps;
  #timer: unknown = null;
  /** File names published for this swarm. */
  #names: string[] = [];
  #stopped = false;

  constructor(deps: SwarmProvidersDeps) {
    this.#deps = deps;
  }

  /** Tells the DHT this peer serves the swarm, and (public and complete) the names of its files. */
  publish(): void {
    const { records, swarm } = this.#deps;
    if (!records.joined || this.#stopped) return;
    records.provide(swarm.discoveryKey);
    const manifest = swarm.manifest;
    if (!this.#deps.public || !swarm.done || !manifest || this.#names.length > 0) return;
    const names = new Set([manifest.name, ...manifest.files.map((f) => f.path.split('/').pop() ?? manifest.name)]);
    this.#names = [...names];
    for (const name of this.#names) void records.publishName(name, swarm.infoHash);
  }

  /** Looks the swarm's providers up now (or soon, before the ring is joined), connects to them. */
  async lookup(): Promise<void> {
    const { records, swarm, clock } = this.#deps;
    if (this.#stopped) return;
    clock.clearTimeout(this.#timer);
    if (!records.joined) {
      this.lookupIn(LONELY_LOOKUP_MS);
      return;
    }
    let providers: string[] = [];
    try {
      providers = await records.findProviders(swarm.discoveryKey);
    } catch (err) {
      this.#deps.warn(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.#stopped) return;
    for (const remoteId of providers) this.#deps.connect(remoteId);
    const lonely = !swarm.done && swarm.peerIds.length === 0;
    this.lookupIn(lonely ? LONELY_LOOKUP_MS : DHT_LOOKUP_INTERVAL_MS);
  }

  /** The next lookup in `delayMs` (replacing the one planned). */
  lookupIn(delayMs: number): void {
    if (this.#stopped) return;
    const clock = this.#deps.clock;
    clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => void this.lookup(), delayMs);
  }

  /** Withdraws this peer's records for the swarm and stops looking. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = null;
    const { records, swarm } = this.#deps;
    records.withdraw(swarm.discoveryKey);
    for (const name of this.#names) void records.withdrawName(name, swarm.infoHash);
  }
}
