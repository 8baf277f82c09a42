/**
 * Recursive routing (DESIGN §8): a lookup travels hop by hop over connections that already
 * exist, each hop handing it to its linked node closest before the key, until it reaches the
 * key's owner, which answers back along the path the request took. Where every message needs
 * an open WebRTC connection, an iterative lookup would open one to each node it asks; this
 * one opens none. The choice of the next hop is a pure function of one node's view
 * ({@link routeStep}), so it can be tested on its own.
 */
import type { RingSpace } from './id.js';

/** Hops a routed request may take before it is dropped (the asker then looks up iteratively). */
export const RING_ROUTE_MAX_HOPS = 32;
/** How long the asker waits for a routed answer before it looks up iteratively instead. */
export const RING_ROUTE_TIMEOUT_MS = 4_000;

/**
 * Greedy next hop towards `target` among the peers this node has open links to: the target
 * itself when linked; otherwise the candidate that ends closest before it on the circle,
 * provided it is closer than this node (so every hop makes progress and a route cannot
 * cycle). Null when no candidate makes progress. Routed signals use it too.
 */
export function nextHop(space: RingSpace, self: bigint, target: bigint, candidates: Iterable<bigint>): bigint | null {
  let best: bigint | null = null;
  let bestDistance = space.distance(self, target);
  for (const c of candidates) {
    if (c === target) return c;
    if (c === self) continue;
    const d = space.distance(c, target);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** What one node knows when a routed request for a key reaches it. */
export interface RouteView {
  readonly space: RingSpace;
  readonly self: bigint;
  readonly predecessor: bigint | null;
  /** The first successor; null in a ring of one. */
  readonly successor: bigint | null;
  /** The node that handed the request here; null for the asker itself. */
  readonly from: bigint | null;
  /** Ring members this node holds an open connection to (live by that fact). */
  readonly linked: Iterable<bigint>;
  /**
   * The nodes the request passed (the asker first): never a next hop again. The asker may be
   * linked here and not in the ring yet (a newcomer looking up its own ID).
   */
  readonly visited?: readonly bigint[];
}

export type RouteStep =
  /** This node owns the key: it answers. */
  | { kind: 'answer' }
  /**
   * Hand the request to `to`; `back`: to this node's predecessor, by rule 2 (knowledge newer
   * than the previous hop's: the one forward that may lead to a node visited before).
   */
  | { kind: 'forward'; to: bigint; back: boolean };

/**
 * The next step of a routed request for `key` at one node:
 * 1. it owns the key (key in (predecessor, self], or it is alone): answer;
 * 2. the previous hop handed it here as the key's successor (the key lies between the two):
 *    when its predecessor lies between them too (a node joined that the previous hop does
 *    not know yet), back to the predecessor; else it is the owner as far as anyone on the
 *    path knows (it may have no predecessor yet): answer;
 * 3. the linked node closest before the key, if one is closer than this node;
 * 4. else the successor (the owner when the key lies in (self, successor]).
 * Every forward of rules 3 and 4 brings the request strictly closer to the key, so with
 * consistent successor pointers a request never visits a node twice.
 */
export function routeStep(view: RouteView, key: bigint): RouteStep {
  const { space, self, predecessor, successor, from } = view;
  if (successor === null || successor === self || key === self) return { kind: 'answer' };
  if (predecessor !== null && space.betweenRight(key, predecessor, self)) return { kind: 'answer' };
  if (from !== null && space.between(key, from, self)) {
    if (predecessor !== null && space.between(predecessor, from, self))
      return { kind: 'forward', to: predecessor, back: true };
    return { kind: 'answer' };
  }
  const visited = view.visited ?? [];
  const hop = nextHop(space, self, key, visited.length === 0 ? view.linked : unvisited(view.linked, visited));
  if (hop !== null) return { kind: 'forward', to: hop, back: false };
  return { kind: 'forward', to: successor, back: false };
}

function* unvisited(nodes: Iterable<bigint>, visited: readonly bigint[]): Iterable<bigint> {
  for (const n of nodes) if (!visited.includes(n)) yield n;
}
