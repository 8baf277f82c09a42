/**
 * A byte-rate limiter (token bucket that may go into debt): `reserve(n)` always succeeds
 * and says how long the caller should wait before the next send so the average stays at the
 * rate. The rate can change at any time; `null` means unlimited. Clock injected.
 */
export class RateLimiter {
  #rate: number | null;
  #tokens = 0;
  #last: number;
  readonly #now: () => number;

  /** @param bytesPerSecond null for unlimited */
  constructor(now: () => number, bytesPerSecond: number | null = null) {
    this.#now = now;
    this.#last = now();
    this.#rate = null;
    this.setRate(bytesPerSecond);
  }

  get rate(): number | null {
    return this.#rate;
  }

  setRate(bytesPerSecond: number | null): void {
    if (bytesPerSecond !== null && !(bytesPerSecond > 0)) throw new RangeError('rate must be positive or null');
    this.#refill();
    this.#rate = bytesPerSecond;
    this.#tokens = Math.min(this.#tokens, this.#burst());
  }

  /** Takes `bytes`; returns milliseconds to wait before sending more (0 = go on). */
  reserve(bytes: number): number {
    if (this.#rate === null) return 0;
    this.#refill();
    this.#tokens -= bytes;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#rate) * 1000);
  }

  /** Milliseconds until a send would not go into debt. */
  delay(): number {
    if (this.#rate === null) return 0;
    this.#refill();
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#rate) * 1000);
  }

  /** Half a second's worth of bytes may be saved up. */
  #burst(): number {
    return this.#rate === null ? 0 : this.#rate / 2;
  }

  #refill(): void {
    const t = this.#now();
    if (this.#rate !== null)
      this.#tokens = Math.min(this.#burst(), this.#tokens + ((t - this.#last) / 1000) * this.#rate);
    this.#last = t;
  }
}

/** Milliseconds until a send would put none of `limiters` into debt (0 = go on). */
export function delayAll(limiters: readonly RateLimiter[]): number {
  let wait = 0;
  for (const limiter of limiters) wait = Math.max(wait, limiter.delay());
  return wait;
}

/** Takes `bytes` from each of `limiters`, in order. */
export function reserveAll(limiters: readonly RateLimiter[], bytes: number): void {
  for (const limiter of limiters) limiter.reserve(bytes);
}
