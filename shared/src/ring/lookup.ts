/**
 * The iterative lookup: finds the owner of a key by asking, one node at a time, the known
 * node closest to the key, and learning closer ones from each answer. A node that does not
 * answer is skipped for the next candidate (down to the successor lists, the seed's O(N)
 * path), and the owner found is confirmed with a ping whose answer also names the owner's
 * predecessor. The network is reached only through {@link RingLookupDeps}, so one lookup can
 * be driven step by step; a {@link RingLookupObserver} is told each step as it happens (the
 * page draws it on the ring).
 */
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import type { RingSpace } from './id.js';
import { RING_MAX_NODES_PER_MESSAGE, type RingReply } from './messages.js';

/** Closest preceding nodes returned by a lookup step that is not done. */
export const RING_FIND_CANDIDATES = 6;
/** Upper bound on the requests of one lookup. */
export const RING_LOOKUP_MAX_STEPS = 128;

export interface RingLookupResult {
  /** The key's owner, confirmed alive; null when the lookup failed. */
  owner: bigint | null;
  /** Nodes that answered a lookup step (the originator not counted). */
  hops: number;
  /** Nodes that did not answer (after retries). */
  timeouts: number;
  /** The owner followed by the nodes after it that the lookup learned (its replica holders). */
  owners: bigint[];
  error: RingswarmError | null;
  /** For a lookup that asked for them: the owner's DHT values, when a routed answer brought them. */
  values?: string[];
}

/** A finished lookup, with what it learned on the way. */
export interface RingLookupOutcome extends RingLookupResult {
  /** The nodes that did not answer, in the order found (fix-fingers drops them). */
  deadNodes: bigint[];
}

/** One answered FIND of a lookup, as {@link RingLookupObserver.hop} reports it. */
export interface RingLookupHop {
  /** 1 for the first answer; the last hop's index is the result's `hops`. */
  index: number;
  /** The node asked. */
  from: bigint;
  /**
   * The node its answer pointed to: the closest to the key it named when not `done`, the
   * owner it named when `done`; null when the answer named no usable node.
   */
  to: bigint | null;
  /** The answer named the key's owner (a confirmation ping follows). */
  done: boolean;
}

/**
 * Watches one lookup as it runs, for a view that shows it; every method is optional. Told
 * `start` once, then each hop in order, then `end` once (also for a lookup that failed or
 * needed no hop). Observers must not throw.
 */
export interface RingLookupObserver {
  /** The lookup of `key` begins. */
  start?(key: bigint): void;
  hop?(hop: RingLookupHop): void;
  /** The lookup ended, with the result its callback gets. */
  end?(result: RingLookupResult): void;
}

type Found = Extract<RingReply, { type: 'found' }>;
type Pong = Extract<RingReply, { type: 'pong' }>;

/** What a lookup needs from the node that runs it. */
export interface RingLookupDeps {
  /** The node running the lookup. */
  readonly self: bigint;
  readonly space: RingSpace;
  /** Sends FIND for `key` to `node` (with the dead nodes to leave out); null: no answer. */
  find(node: bigint, key: bigint, exclude: bigint[], callback: (found: Found | null) => void): void;
  /** Pings `node`; null: no answer. */
  ping(node: bigint, callback: (pong: Pong | null) => void): void;
  /** Up to `count` live nodes of the local table before `key`, closest to it first. */
  closestPreceding(key: bigint, count: number): bigint[];
}

/** One lookup. Start it once, with {@link askFrom}, {@link confirmFrom} or {@link answerLocally}. */
export class RingLookup {
  readonly key: bigint;
  readonly #deps: RingLookupDeps;
  readonly #done: (outcome: RingLookupOutcome) => void;
  readonly #observer: RingLookupObserver;
  #hops = 0;
  #timeouts = 0;
  /** Requests sent (FIND and the owner's confirmation), against RING_LOOKUP_MAX_STEPS. */
  #steps = 0;
  /** Nodes to ask next, closest to the key first. */
  readonly #candidates: bigint[] = [];
  /** Nodes sent a FIND; never candidates again. */
  readonly #asked = new Set<bigint>();
  /** Nodes that answered, with how many dead nodes we knew when we last asked them. */
  readonly #answered = new Map<bigint, number>();
  /** Nodes that did not answer, in the order found. */
  readonly #dead: bigint[] = [];

  /** @param observer told each step as it happens (default: nobody) */
  constructor(
    deps: RingLookupDeps,
    key: bigint,
    done: (outcome: RingLookupOutcome) => void,
    observer: RingLookupObserver = {},
  ) {
    this.#deps = deps;
    this.key = key;
    this.#done = done;
    this.#observer = observer;
  }

  /** Starts by asking these nodes, closest to the key first (the local table, or join's bootstrap member). */
  askFrom(nodes: readonly bigint[]): void {
    this.#observer.start?.(this.key);
    this.#addCandidates(nodes);
    this.#step();
  }

  /** Starts by confirming possible owners the local table already knows, best first. */
  confirmFrom(owners: bigint[]): void {
    this.#observer.start?.(this.key);
    this.#confirm(owners, 0);
  }

  /** Ends at once: the running node owns the key by its own view; `owners` starts with itself. */
  answerLocally(owners: bigint[]): void {
    this.#observer.start?.(this.key);
    this.#finish(this.#deps.self, owners, null);
  }

  // --- asking for closer nodes ----------------------------------------------------

  /** Asks the closest candidate; with none left, asks again an answered node that knows fewer dead. */
  #step(): void {
    let next = this.#candidates.shift();
    let exclude: bigint[] = [];
    if (next === undefined) {
      // Every candidate is dead or asked: ask again the answered node closest to the key,
      // telling it which nodes are dead, so that it names others (down to its successors).
      next = this.#answeredToAskAgain();
      if (next === undefined) {
        this.#fail(`no live node left to ask for ${this.key.toString(16)}`);
        return;
      }
      exclude = this.#dead.slice(-RING_MAX_NODES_PER_MESSAGE);
    }
    if (!this.#countStep()) return;
    const asking = next;
    this.#asked.add(asking);
    this.#answered.set(asking, this.#dead.length);
    this.#deps.find(asking, this.key, exclude, (found) => this.#onFound(asking, found));
  }

  #onFound(asking: bigint, found: Found | null): void {
    if (!found) {
      this.#answered.delete(asking);
      this.#noAnswer(asking);
      this.#step();
      return;
    }
    this.#hops++;
    if (found.done) {
      const owners = found.nodes.filter((n) => !this.#dead.includes(n));
      this.#observer.hop?.({ index: this.#hops, from: asking, to: owners[0] ?? null, done: true });
      this.#confirm(owners, 0);
      return;
    }
    const { space } = this.#deps;
    const closer = found.nodes.filter((n) => space.between(n, asking, this.key) && !this.#dead.includes(n));
    this.#observer.hop?.({ index: this.#hops, from: asking, to: this.#closestToKey(closer), done: false });
    this.#addCandidates(closer);
    this.#step();
  }

  /** The node of `nodes` closest before the key (answers are not trusted to come sorted). */
  #closestToKey(nodes: readonly bigint[]): bigint | null {
    const { space } = this.#deps;
    let best: bigint | null = null;
    for (const n of nodes) {
      if (best === null || space.distance(n, this.key) < space.distance(best, this.key)) best = n;
    }
    return best;
  }

  #answeredToAskAgain(): bigint | undefined {
    const { space } = this.#deps;
    let best: bigint | undefined;
    for (const [n, knownDead] of this.#answered) {
      if (knownDead === this.#dead.length) continue;
      if (best === undefined || space.distance(n, this.key) < space.distance(best, this.key)) best = n;
    }
    return best;
  }

  #addCandidates(nodes: readonly bigint[]): void {
    for (const n of nodes) {
      if (n === this.#deps.self || this.#asked.has(n) || this.#candidates.includes(n)) continue;
      this.#candidates.push(n);
    }
    const { space } = this.#deps;
    this.#candidates.sort((a, b) => {
      const da = space.distance(a, this.key);
      const db = space.distance(b, this.key);
      return da < db ? -1 : da > db ? 1 : 0;
    });
  }

  // --- confirming the owner ------------------------------------------------------

  /** Pings `owners[index]`; the owner must answer, and its predecessor must not own the key instead. */
  #confirm(owners: bigint[], index: number): void {
    const owner = owners[index];
    if (owner === undefined) {
      // Every possible owner named so far is gone: ask the live nodes we know before the key.
      this.#addCandidates(
        this.#deps.closestPreceding(this.key, RING_FIND_CANDIDATES).filter((n) => !this.#dead.includes(n)),
      );
      this.#step();
      return;
    }
    if (owner === this.#deps.self) {
      this.#finish(owner, owners.slice(index), null);
      return;
    }
    if (!this.#countStep()) return;
    this.#deps.ping(owner, (pong) => this.#onPong(owners, index, owner, pong));
  }

  #onPong(owners: bigint[], index: number, owner: bigint, pong: Pong | null): void {
    if (!pong) {
      this.#noAnswer(owner);
      this.#confirm(owners, index + 1);
      return;
    }
    const p = pong.predecessor;
    // The owner's own predecessor may be a node that joined after our informant's view.
    // key outside (p, owner] means p lies in [key, owner): p, or a node before it, owns the key.
    if (
      p !== null &&
      p !== this.#deps.self &&
      !this.#deps.space.betweenRight(this.key, p, owner) &&
      !owners.includes(p) &&
      !this.#dead.includes(p)
    ) {
      this.#confirm([p, ...owners.slice(index)], 0);
      return;
    }
    this.#finish(owner, owners.slice(index), null);
  }

  // --- bookkeeping ----------------------------------------------------------------

  #noAnswer(node: bigint): void {
    this.#timeouts++;
    this.#dead.push(node);
  }

  /** Counts one more request; false (and the lookup failed) past RING_LOOKUP_MAX_STEPS. */
  #countStep(): boolean {
    if (++this.#steps <= RING_LOOKUP_MAX_STEPS) return true;
    this.#fail('lookup took too many steps');
    return false;
  }

  #fail(why: string): void {
    this.#finish(null, [], new RingswarmError(ErrorCode.RING_LOOKUP_FAILED, why));
  }

  #finish(owner: bigint | null, owners: bigint[], error: RingswarmError | null): void {
    const result: RingLookupResult = { owner, owners, hops: this.#hops, timeouts: this.#timeouts, error };
    this.#observer.end?.(result);
    this.#done({ ...result, deadNodes: this.#dead });
  }
}
