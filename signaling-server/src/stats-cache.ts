/**
 * /api/stats is built at most once per {@link STATS_CACHE_MS}, whatever the number of
 * requests: every request in that time gets the same serialized answer (requests that arrive
 * while it is being built wait for that one build). The admin's per-swarm view is capped at
 * {@link MAX_STATS_SWARMS} swarms, so neither answer grows with the number of sockets.
 */
import type { SwarmCounts } from './swarm-registry.js';

/** How long one built /api/stats answer is served, ms. */
export const STATS_CACHE_MS = 1_000;
/** Most swarms the admin's `perSwarm` lists (the largest ones); `perSwarmTotal` says how many there are. */
export const MAX_STATS_SWARMS = 200;

/** A JSON answer built by `build`, kept for `ttlMs` of `now`; a failed build is not kept. */
export class CachedJson {
  /** How many times the answer was built (the /metrics counter `ringswarm_stats_builds_total`). */
  builds = 0;
  #text: Promise<string> | undefined;
  #builtAt = 0;

  constructor(
    readonly build: () => Promise<unknown>,
    readonly now: () => number,
    readonly ttlMs: number = STATS_CACHE_MS,
  ) {}

  /** The answer as JSON text: the cached one while fresh, else a new build. */
  get(): Promise<string> {
    const t = this.now();
    if (this.#text && t - this.#builtAt < this.ttlMs && t >= this.#builtAt) return this.#text;
    this.builds++;
    this.#builtAt = t;
    const text = this.build().then((body) => JSON.stringify(body));
    this.#text = text;
    text.catch(() => {
      if (this.#text === text) this.#text = undefined;
    });
    return text;
  }
}

/**
 * The `max` largest swarms (by members, ties by key so the answer is stable), keyed by
 * `label(key)`, and how many swarms there are in all.
 */
export function largestSwarms(
  swarms: [string, SwarmCounts][],
  max: number,
  label: (key: string) => string,
): { perSwarm: Record<string, SwarmCounts>; total: number } {
  const size = (c: SwarmCounts) => c.complete + c.incomplete;
  const shown = swarms
    .slice()
    .sort(([ka, a], [kb, b]) => size(b) - size(a) || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, max);
  return {
    perSwarm: Object.fromEntries(shown.map(([key, counts]) => [label(key), { ...counts }])),
    total: swarms.length,
  };
}
