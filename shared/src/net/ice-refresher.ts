/**
 * Renewing TURN credentials: the one loop the page and the CLI both run. After
 * {@link refreshDelayMs} of the current credentials' lifetime it asks `/api/ice` again (for
 * the same peer label every time, so the TURN server sees one user), hands fresh servers on,
 * and schedules the next request from the fresh lifetime.
 *
 * One rule for a refresh that brings nothing: when the request fails, or its answer is
 * unusable or lists no servers, the servers in use are kept and the next request comes after
 * the same delay again. Pure: the clock and the request are injected.
 */
import { type IceAnswer, type IceServer, refreshDelayMs } from '../protocol/ice.js';
import type { Clock } from '../util/clock.js';

export interface IceRefresherOptions {
  clock: Clock;
  /** The label the credentials are minted for (this peer's ID); sent with every request. */
  peerId: string | undefined;
  /** Seconds the servers in use stay valid; 0 or less = nothing expires, nothing is renewed. */
  ttl: number;
  /** One request to `/api/ice` for `peerId`: its answer, or null when it had none usable. May reject. */
  fetch: (peerId: string | undefined) => Promise<IceAnswer | null>;
  /** Fresh servers to use from now on; never called with an empty list. */
  onServers: (servers: IceServer[]) => void;
  /** A request failed; the servers in use are kept. */
  onError?: (err: Error) => void;
}

export class IceRefresher {
  readonly #options: IceRefresherOptions;
  #timer: unknown;
  #destroyed = false;

  constructor(options: IceRefresherOptions) {
    this.#options = options;
    if (options.ttl > 0) this.#schedule(options.ttl);
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  #schedule(ttl: number): void {
    this.#timer = this.#options.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#refresh(ttl);
    }, refreshDelayMs(ttl));
  }

  async #refresh(ttl: number): Promise<void> {
    const { fetch, peerId, onServers, onError } = this.#options;
    let answer: IceAnswer | null;
    try {
      answer = await fetch(peerId);
    } catch (err) {
      if (this.#destroyed) return;
      onError?.(err instanceof Error ? err : new Error(String(err)));
      this.#schedule(ttl);
      return;
    }
    if (this.#destroyed) return;
    if (answer === null || answer.iceServers.length === 0) {
      this.#schedule(ttl);
      return;
    }
    onServers(answer.iceServers);
    this.#schedule(answer.ttl > 0 ? answer.ttl : ttl);
  }

  /** Stops the loop; an answer still on its way is ignored. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
