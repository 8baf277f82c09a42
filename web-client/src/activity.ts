/**
 * What the page does while it moves file bytes:
 * - it holds a Screen Wake Lock (where the browser has one) while a download runs or a peer
 *   that lacks pieces is connected to a share, and lets it go once idle. The browser drops
 *   the lock when the tab is hidden; it is taken again when the tab shows.
 * - closing the tab asks first while it holds the only complete copy someone is fetching:
 *   a share here is complete, a peer that lacks pieces is connected, and no connected peer
 *   has them all. (A tab knows only its connected peers; with nobody fetching, closing it
 *   interrupts no one.)
 */
import type { SwarmStats } from '@ringswarm/shared';

export interface ActivityState {
  /** A download runs, or someone is fetching from this tab. */
  busy: boolean;
  /** Closing this tab would strand a peer: see the file comment. */
  onlyCopy: boolean;
}

/** What the page's swarms say about being busy and holding the only copy. */
export function activityOf(swarms: readonly SwarmStats[]): ActivityState {
  let busy = false;
  let onlyCopy = false;
  for (const s of swarms) {
    const leechers = s.seeders === null ? s.peers : s.peers - s.seeders;
    if (!s.done || leechers > 0) busy = true;
    if (s.done && leechers > 0 && s.seeders === 0) onlyCopy = true;
  }
  return { busy, onlyCopy };
}

interface WakeLockSentinelLike {
  readonly released: boolean;
  release(): Promise<void>;
  addEventListener(type: 'release', listener: () => void): void;
}
interface WakeLockLike {
  request(type: 'screen'): Promise<WakeLockSentinelLike>;
}

export class ActivityGuard {
  #state: ActivityState = { busy: false, onlyCopy: false };
  #sentinel: WakeLockSentinelLike | null = null;
  #requesting = false;
  /** The browser refused the lock: not asked again until the tab shows anew. */
  #refused = false;
  #destroyed = false;
  readonly #wakeLock: WakeLockLike | null;
  readonly #onVisible = () => {
    if (document.visibilityState !== 'visible') return;
    this.#refused = false;
    this.#sync();
  };
  readonly #onBeforeUnload = (event: BeforeUnloadEvent) => {
    if (!this.#state.onlyCopy) return;
    // The browser shows its own wording; the text is for the older ones that show it.
    event.preventDefault();
    event.returnValue = 'This tab holds the only complete copy someone is downloading.';
  };

  constructor() {
    this.#wakeLock = (navigator as Navigator & { wakeLock?: WakeLockLike }).wakeLock ?? null;
    document.addEventListener('visibilitychange', this.#onVisible);
    window.addEventListener('beforeunload', this.#onBeforeUnload);
  }

  /** True while the screen wake lock is held. */
  get wakeLockHeld(): boolean {
    return this.#sentinel !== null && !this.#sentinel.released;
  }

  get state(): ActivityState {
    return { ...this.#state };
  }

  /** Takes the swarms' figures (every stats tick). */
  update(swarms: readonly SwarmStats[]): void {
    if (this.#destroyed) return;
    this.#state = activityOf(swarms);
    this.#sync();
  }

  #sync(): void {
    if (this.#state.busy) {
      if (this.wakeLockHeld || this.#requesting || this.#refused || !this.#wakeLock) return;
      if (document.visibilityState !== 'visible') return;
      this.#requesting = true;
      this.#wakeLock.request('screen').then(
        (sentinel) => {
          this.#requesting = false;
          this.#sentinel = sentinel;
          sentinel.addEventListener('release', () => {
            if (this.#sentinel === sentinel) this.#sentinel = null;
          });
          // Idle (or gone) while it was being granted.
          if (!this.#state.busy || this.#destroyed) void sentinel.release();
        },
        (err: Error) => {
          this.#requesting = false;
          this.#refused = true;
          // Refused (a battery saver, a permission policy): the screen may sleep; no harm.
          console.info('ringswarm: no screen wake lock:', err.message);
        },
      );
    } else if (this.#sentinel) {
      const sentinel = this.#sentinel;
      this.#sentinel = null;
      void sentinel.release();
    }
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    document.removeEventListener('visibilitychange', this.#onVisible);
    window.removeEventListener('beforeunload', this.#onBeforeUnload);
    this.#state = { busy: false, onlyCopy: false };
    this.#sync();
  }
}
