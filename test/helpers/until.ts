import type { Emitter, EventMap } from '@ringswarm/shared';

/** Resolves with the arguments of the next `event` from `emitter`; rejects after `ms`. */
export function waitFor<E extends EventMap, K extends keyof E & string>(
  emitter: Emitter<E>,
  event: K,
  ms: number,
): Promise<E[K]> {
  return new Promise<E[K]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for "${event}"`)), ms);
    emitter.once(event, (...args: E[K]) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** Polls `check` until it returns true, rejects after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves after `ms` of wall-clock time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves on the next macrotask, after every pending microtask and I/O callback due now. */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
