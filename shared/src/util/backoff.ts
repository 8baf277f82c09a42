/**
 * Capped exponential backoff with full jitter: a random delay up to base·2^attempt, never
 * below base nor above max. Used wherever something reconnects (tracker client, Redis).
 */
export function backoffDelayMs(attempt: number, random: () => number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(baseMs, Math.round(ceiling * random()));
}

/**
 * `ms` spread uniformly over ms·[1 - fraction, 1 + fraction], so that timers started
 * together drift apart (the ring's maintenance intervals).
 */
export function jitterMs(ms: number, fraction: number, random: () => number): number {
  return ms * (1 - fraction + 2 * fraction * random());
}
