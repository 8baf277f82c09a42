/**
 * TURN credentials over the tracker socket, the only place they come from: once the
 * tracker connection is up it asks `ice` (credentials labelled with this peer's proven ID),
 * hands the servers on, and renews them with the shared {@link IceRefresher} before they
 * expire. The page and the CLI both run this. Until the first answer (or when it fails) they
 * use the STUN entries of `GET /api/ice`. Pure: the clock and the tracker are injected.
 */
import type { IceAnswer, IceServer } from '../protocol/ice.js';
import type { Clock } from '../util/clock.js';
import { IceRefresher } from './ice-refresher.js';

/** What SocketIce needs of the tracker client ({@link TrackerClient} has it). */
export interface SocketIceTracker {
  readonly connected: boolean;
  ice(): Promise<IceAnswer>;
  on(event: 'connect', listener: () => void): unknown;
  off(event: 'connect', listener: () => void): unknown;
}

export interface SocketIceOptions {
  clock: Clock;
  tracker: SocketIceTracker;
  /** Fresh servers (STUN and TURN) for new connections; never called with an empty list. */
  onServers: (servers: IceServer[]) => void;
  /** A request failed (the servers in use are kept); the first one is asked again on the next connect. */
  onError?: (err: Error) => void;
}

export class SocketIce {
  readonly #options: SocketIceOptions;
  #refresher: IceRefresher | null = null;
  #asking = false;
  #first: IceAnswer | null = null;
  #waiters = new Set<(answer: IceAnswer | null) => void>();
  #destroyed = false;

  constructor(options: SocketIceOptions) {
    this.#options = options;
    options.tracker.on('connect', this.#onConnect);
    if (options.tracker.connected) this.#onConnect();
  }

  /** The first answer, once it is in. */
  get answer(): IceAnswer | null {
    return this.#first;
  }

  /**
   * Resolves with the first answer, or null when none came within `timeoutMs` (the tracker is
   * unreachable, or it refused) or this was destroyed.
   */
  firstAnswer(timeoutMs: number): Promise<IceAnswer | null> {
    if (this.#first !== null || this.#destroyed) return Promise.resolve(this.#first);
    const { clock } = this.#options;
    return new Promise((resolve) => {
      const done = (answer: IceAnswer | null) => {
        clock.clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(answer);
      };
      const timer = clock.setTimeout(() => done(null), timeoutMs);
      this.#waiters.add(done);
    });
  }

  readonly #onConnect = (): void => {
    if (this.#destroyed || this.#refresher !== null || this.#asking) return;
    this.#asking = true;
    const { tracker, clock, onServers, onError } = this.#options;
    tracker.ice().then(
      (answer) => {
        this.#asking = false;
        if (this.#destroyed || this.#refresher !== null) return;
        this.#first = answer;
        if (answer.iceServers.length > 0) onServers(answer.iceServers);
        this.#refresher = new IceRefresher({
          clock,
          peerId: undefined,
          ttl: answer.ttl,
          fetch: () => tracker.ice(),
          onServers,
          ...(onError ? { onError } : {}),
        });
        for (const done of [...this.#waiters]) done(answer);
      },
      (err: unknown) => {
        this.#asking = false;
        if (this.#destroyed) return;
        onError?.(err instanceof Error ? err : new Error(String(err)));
        for (const done of [...this.#waiters]) done(null);
      },
    );
  };

  /** Stops asking and renewing; waiters get null. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#options.tracker.off('connect', this.#onConnect);
    this.#refresher?.destroy();
    this.#refresher = null;
    for (const done of [...this.#waiters]) done(null);
  }
}
