/**
 * One swarm on the tracker: `started` when it begins, `update` at the tracker's interval (or
 * every {@link LONELY_ANNOUNCE_MS} while a download has no peer), `completed` once, and
 * `stopped` at the end. A completion lost to a dropped connection (mid-failover, say) is told
 * to the next tracker instead, in place of whatever event comes next. A tracker that refuses
 * the swarm with `ERR_BLOCKED` (its operator blocked the share) is told nothing more about it.
 */

import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import type { AnnounceEvent, AnnounceRequest, AnnounceResult } from '../protocol/tracker.js';
import type { Clock } from '../util/clock.js';

/** Peers asked for in each announce. */
export const NUMWANT = 30;
/** Announce again this soon while a download has no peer, instead of the tracker's interval. */
export const LONELY_ANNOUNCE_MS = 3_000;
/** What `ERR_BLOCKED` means, for people (the page and the CLI show it as is). */
export const BLOCKED_MESSAGE = 'the operator of this server has blocked this share';

/** A swarm as the tracker hears of it. */
export interface AnnouncedSwarm {
  /** The tracker knows the swarm by this only. */
  readonly discoveryKey: string;
  readonly done: boolean;
  /** Bytes still missing; null before the manifest is known. */
  readonly left: number | null;
  stats(): { uploaded: number; downloaded: number };
}

export interface SwarmAnnouncerDeps {
  clock: Clock;
  tracker: { announce(req: AnnounceRequest): Promise<AnnounceResult> };
  swarm: AnnouncedSwarm;
  /** The tracker named a peer: open a link to it for this swarm. */
  connect(remoteId: string): void;
  warn(error: Error): void;
  /** The tracker refused the swarm with `ERR_BLOCKED`: called once, and nothing is announced after. */
  blocked(): void;
}

export class SwarmAnnouncer {
  readonly #deps: SwarmAnnouncerDeps;
  #timer: unknown = null;
  /** Finished, and no tracker has acknowledged a `completed` announce yet. */
  #completionUnsent = false;
  #stopped = false;
  /** The tracker refused the swarm with `ERR_BLOCKED`: announce nothing more, not even `stopped`. */
  #blocked = false;

  constructor(deps: SwarmAnnouncerDeps) {
    this.#deps = deps;
  }

  /** True once the tracker refused the swarm with `ERR_BLOCKED`. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Announces `started` (also after each reconnect, to the same tracker or another of its cluster). */
  start(): void {
    void this.#announce('started');
  }

  /** The download finished: announces `completed`, retried until a tracker acknowledges it. */
  complete(): void {
    if (this.#stopped || this.#blocked) return;
    this.#completionUnsent = true;
    void this.#announce('completed');
  }

  /** The next `update` in `delayMs` (replacing the one planned). */
  announceIn(delayMs: number): void {
    if (this.#stopped || this.#blocked) return;
    const clock = this.#deps.clock;
    clock.clearTimeout(this.#timer);
    this.#timer = clock.setTimeout(() => void this.#announce('update'), delayMs);
  }

  /** Announces `stopped` once and plans nothing more. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#blocked) this.#announceOnce('stopped').catch(() => {});
  }

  #announceOnce(event: AnnounceEvent): Promise<AnnounceResult> {
    const swarm = this.#deps.swarm;
    const stats = swarm.stats();
    return this.#deps.tracker.announce({
      discoveryKey: swarm.discoveryKey,
      event,
      left: swarm.left,
      uploaded: stats.uploaded,
      downloaded: stats.downloaded,
      numwant: event === 'stopped' ? 0 : NUMWANT,
    });
  }

  async #announce(requested: AnnounceEvent): Promise<void> {
    if (this.#stopped || this.#blocked) return;
    this.#deps.clock.clearTimeout(this.#timer);
    // A completion lost to a dropped connection is told to the next tracker instead.
    const event = this.#completionUnsent ? 'completed' : requested;
    try {
      const res = await this.#announceOnce(event);
      if (this.#stopped) return;
      if (event === 'completed') this.#completionUnsent = false;
      for (const remoteId of res.peers) this.#deps.connect(remoteId);
      const lonely = res.peers.length === 0 && !this.#deps.swarm.done;
      this.announceIn(lonely ? LONELY_ANNOUNCE_MS : res.interval * 1000);
    } catch (err) {
      if (this.#stopped || this.#blocked) return;
      if (err instanceof RingswarmError && err.code === ErrorCode.BLOCKED) {
        // An operator's decision, not a failure: asking again would only be refused again.
        this.#blocked = true;
        this.#deps.clock.clearTimeout(this.#timer);
        this.#timer = null;
        this.#deps.blocked();
        return;
      }
      this.#deps.warn(err instanceof Error ? err : new Error(String(err)));
      this.announceIn(LONELY_ANNOUNCE_MS);
    }
  }
}
