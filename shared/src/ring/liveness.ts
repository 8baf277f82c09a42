/**
 * The node's memory of nodes that failed to answer. A node found dead is kept out of the
 * lists that others send us for a while, so that a stale entry does not come straight back
 * through a neighbour that has not noticed yet; hearing from the node clears it at once.
 */
import type { Clock } from '../util/clock.js';

/**
 * How long a node found dead is kept out of lists received from others: one stabilization
 * interval, long enough for the news to reach the neighbours that still list it.
 */
export const RING_DEAD_MEMORY_MS = 30_000;

export class DeadNodeMemory {
  readonly #clock: Clock;
  readonly #memoryMs: number;
  /** node -> the time until which it counts as dead. */
  readonly #until = new Map<bigint, number>();

  constructor(clock: Clock, memoryMs = RING_DEAD_MEMORY_MS) {
    this.#clock = clock;
    this.#memoryMs = memoryMs;
  }

  /** The node did not answer (after retries), left, or its connection was lost. */
  markDead(node: bigint): void {
    this.#until.set(node, this.#clock.now() + this.#memoryMs);
  }

  /** The node spoke to us: it is alive. */
  heard(node: bigint): void {
    this.#until.delete(node);
  }

  isDead(node: bigint): boolean {
    const until = this.#until.get(node);
    if (until === undefined) return false;
    if (until <= this.#clock.now()) {
      this.#until.delete(node);
      return false;
    }
    return true;
  }
}
