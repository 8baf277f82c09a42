/**
 * Time as a dependency. Engines take a Clock so that tests and the simulator can run on
 * virtual time; the edges (web client, Node peer) pass {@link systemClock}.
 */
export interface Clock {
  /** Milliseconds, monotonic enough for rates and timeouts. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The platform's non-cryptographic randomness, for edges that have no seed to inject. */
export const systemRandom = (): number => Math.random();
