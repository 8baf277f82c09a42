import type { Clock } from '@ringswarm/shared';

/** More timers than this firing at one instant of a {@link FakeClock} are taken for a loop. */
export const MAX_TIMERS_AT_ONE_INSTANT = 10_000;

/** A clock the test moves by hand; timers fire, in order, when `advance` passes them. */
export class FakeClock implements Clock {
  #now: number;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Timers due now (an `advance(0)` would fire them). */
  get due(): number {
    let due = 0;
    for (const timer of this.#timers.values()) if (timer.at <= this.#now) due++;
    return due;
  }

  /**
   * Fires every timer due by `ms` from now, in order. Throws when more than
   * {@link MAX_TIMERS_AT_ONE_INSTANT} fire at one instant: a timer that sets itself again
   * with no delay would otherwise hang the test.
   */
  advance(ms: number): void {
    const end = this.#now + ms;
    let sameInstant = 0;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.#timers.delete(due[0]);
      sameInstant = due[1].at === this.#now ? sameInstant + 1 : 0;
      if (sameInstant > MAX_TIMERS_AT_ONE_INSTANT) throw new Error(`a timer loop at ${this.#now} ms`);
      this.#now = due[1].at;
      due[1].fn();
    }
    this.#now = end;
  }
}

/**
 * Lets every pending promise callback run, by waiting for the next turn of the event loop.
 * No time passes on a FakeClock meanwhile.
 */
export const drainImmediates = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Fires a FakeClock's due timers and runs the promise callbacks they start, again and again,
 * until no timer is due: frames on FakeLinks that use this clock are all delivered, and the
 * store reads and writes they cause are done. Time does not move. Work that waits on
 * something outside this process's event loop (a WebCrypto hash) may still be pending.
 */
export async function flush(clock: FakeClock, maxRounds = 1000): Promise<void> {
  for (let round = 0; round < maxRounds; round++) {
    clock.advance(0);
    await drainImmediates();
    if (clock.due === 0) return;
  }
  throw new Error(`the clock still had due timers after ${maxRounds} rounds`);
}
