/** Bytes per second over a sliding window of whole seconds. Clock injected. */
export class RateMeter {
  readonly #now: () => number;
  readonly #buckets: Float64Array;
  #second = 0;
  #total = 0;

  /** @param windowS seconds averaged over; default 5 */
  constructor(now: () => number, windowS = 5) {
    this.#now = now;
    this.#buckets = new Float64Array(windowS);
    this.#second = Math.floor(now() / 1000);
  }

  /** Total bytes ever added. */
  get total(): number {
    return this.#total;
  }

  add(bytes: number): void {
    this.#advance();
    this.#buckets[this.#second % this.#buckets.length]! += bytes;
    this.#total += bytes;
  }

  /** Bytes per second over the window, counting the current second as partly elapsed. */
  rate(): number {
    this.#advance();
    const elapsedInSecond = (this.#now() % 1000) / 1000;
    let sum = 0;
    for (const b of this.#buckets) sum += b;
    const seconds = this.#buckets.length - 1 + Math.max(elapsedInSecond, 0.001);
    return sum / seconds;
  }

  #advance(): void {
    const second = Math.floor(this.#now() / 1000);
    const steps = Math.min(second - this.#second, this.#buckets.length);
    for (let i = 1; i <= steps; i++) this.#buckets[(this.#second + i) % this.#buckets.length] = 0;
    if (second > this.#second) this.#second = second;
  }
}
