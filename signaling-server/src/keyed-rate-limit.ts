/**
 * Token buckets by key (a target peer, an IP address): `rate` tokens a second, at most
 * `burst` saved up, for each key. Bounded: a bucket that has refilled completely holds no
 * information, so buckets are dropped once full again, in a sweep that runs at most once
 * per {@link KEYED_SWEEP_INTERVAL_MS}. Clock injected; no timers.
 */

/** How often full buckets are looked for, at most. */
export const KEYED_SWEEP_INTERVAL_MS = 10_000;

interface Bucket {
  tokens: number;
  last: number;
}

export class KeyedRateLimit {
  readonly #buckets = new Map<string, Bucket>();
  #lastSweep: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    readonly now: () => number,
  ) {
    this.#lastSweep = now();
  }

  /** Takes one token from `key`'s bucket; false when it is empty. */
  take(key: string): boolean {
    const t = this.now();
    if (t - this.#lastSweep >= KEYED_SWEEP_INTERVAL_MS) this.#sweep(t);
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((t - bucket.last) / 1000) * this.rate);
      bucket.last = t;
    } else {
      bucket = { tokens: this.burst, last: t };
      this.#buckets.set(key, bucket);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Keys with a bucket that is not full. */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(t: number): void {
    this.#lastSweep = t;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((t - bucket.last) / 1000) * this.rate >= this.burst) this.#buckets.delete(key);
    }
  }
}
