import { setMaxListeners } from 'node:events';
import type { SeededRandom } from './random.js';
import type { ShareFile } from './shares.js';
import type { Tally } from './tally.js';

/** A share once its seeder has printed the link. */
export interface Share {
  /** Short label for log lines: the share's top-level name. */
  name: string;
  link: string;
  files: ShareFile[];
}

/** What every loop of a run shares: the schedule's randomness, the books, the shares, the stop. */
export class SoakContext {
  readonly #stop = new AbortController();
  readonly shares: Share[] = [];
  /** The tracker's URL, once it listens. */
  trackerUrl = '';

  constructor(
    readonly random: SeededRandom,
    readonly tally: Tally,
    /** Temp folder of this run: identities, downloads, the shared files. */
    readonly root: string,
  ) {
    // Every loop sleeps on this one signal at once.
    setMaxListeners(0, this.#stop.signal);
  }

  get stopping(): boolean {
    return this.#stop.signal.aborted;
  }

  /** Ends every loop: sleeps return at once, waits give up. Idempotent. */
  stop(): void {
    this.#stop.abort();
  }

  /** Resolves after `ms`, or as soon as the run stops. */
  sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#stop.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#stop.signal.addEventListener('abort', done);
    });
  }
}
