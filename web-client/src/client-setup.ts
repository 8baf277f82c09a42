/**
 * The page's one RingswarmClient: created once, after asking the server for STUN servers
 * (HTTP), then given STUN and TURN over its tracker socket, with its TURN credentials renewed and its panels refreshed on timers that
 * destroy() clears. It also owns `window.ringswarm`, the debug handle that tests and
 * benchmarks read: it is written here and nowhere else.
 */
import { ErrorCode, RingswarmClient, RingswarmError, type SocketIce, type Swarm } from '@ringswarm/shared';
import { ActivityGuard } from './activity.js';
import { STATS_INTERVAL_MS } from './download-view.js';
import { ICE_FETCH_TIMEOUT_MS, type IceConfig, iceOverSocket, loadIceServers } from './ice.js';
import { loadPageIdentity } from './identity-store.js';
import type { StorageKind } from './storage.js';

/** What the page exposes for debugging from the console, and for tests and benchmarks. */
export interface PageHandle {
  client: RingswarmClient;
  /** The screen wake lock and the close confirmation (activity.ts). */
  activity: ActivityGuard;
  /** The download this page opened, once it has started. */
  download?: DownloadHandle;
}

export interface DownloadHandle {
  infoHash: string;
  swarm: Swarm;
  /** Where pieces are kept: OPFS, IndexedDB where the page has no OPFS (plain HTTP), or memory. */
  storage: StorageKind;
  /** Pieces found in this browser and verified again before the download started. */
  resumedPieces: number;
  resumedBytes: number;
}

declare global {
  interface Window {
    ringswarm?: PageHandle;
  }
}

export interface ClientSetupHooks {
  /**
   * The ICE servers the client starts its connections with, once: STUN and TURN from the
   * socket when they came in time, else the STUN of `GET /api/ice`.
   */
  onIce(ice: IceConfig): void;
  /** The tracker connection dropped (the client reconnects by itself). */
  onDisconnect(): void;
  /** ICE found no way to a swarm peer (`ERR_NO_ROUTE`). */
  onNoRoute(): void;
  /** The tracker refused to announce the swarm `infoHash` (`ERR_BLOCKED`: the operator blocked it). */
  onBlocked(infoHash: string): void;
  /** Every {@link STATS_INTERVAL_MS} while the client lives: refresh the panels. */
  onTick(client: RingswarmClient): void;
}

export class ClientSetup {
  readonly #hooks: ClientSetupHooks;
  #promise: Promise<RingswarmClient> | null = null;
  #client: RingswarmClient | null = null;
  #download: DownloadHandle | undefined;
  #tick: ReturnType<typeof setInterval> | undefined;
  #socketIce: SocketIce | null = null;
  readonly #activity = new ActivityGuard();
  #destroyed = false;

  constructor(hooks: ClientSetupHooks) {
    this.#hooks = hooks;
  }

  /** The client once it exists, else null. */
  get current(): RingswarmClient | null {
    return this.#client;
  }

  /** The download this page opened, if any. */
  get download(): DownloadHandle | undefined {
    return this.#download;
  }

  /** Creates the client on first call; later calls get the same one. */
  get(): Promise<RingswarmClient> {
    this.#promise ??= this.#create();
    return this.#promise;
  }

  /** Records the page's download in the debug handle. */
  setDownload(download: DownloadHandle): void {
    this.#download = download;
    this.#publish();
  }

  async #create(): Promise<RingswarmClient> {
    const { identity } = await loadPageIdentity();
    const stun = await loadIceServers();
    if (this.#destroyed) throw new Error('page closing');
    // The ring waits for the socket's TURN credentials (below): its first links, which swarms
    // reuse, are then made with them and can be relayed too.
    const c = new RingswarmClient({
      trackerUrl: window.location.origin,
      identity,
      iceServers: stun.iceServers,
      holdRing: true,
      // A tab lives minutes: it attaches to the ring as a leaf where the ring has room for one.
      ring: { role: 'auto' },
    });
    this.#client = c;
    this.#publish();
    c.on('warning', (err) => {
      console.warn('ringswarm:', err.message);
      if (err instanceof RingswarmError && err.code === ErrorCode.NO_ROUTE) this.#hooks.onNoRoute();
    });
    // TURN credentials come only over the socket, and expire: renewed at half their lifetime,
    // for new connections. A renewal that fails or brings no servers keeps the ones in use.
    this.#socketIce = iceOverSocket(c.tracker, (servers) => c.setIceServers(servers));
    c.tracker.on('disconnect', () => this.#hooks.onDisconnect());
    c.on('blocked', (infoHash) => this.#hooks.onBlocked(infoHash));
    // Wait briefly for them, so that the first connections can be relayed.
    const viaSocket = await this.#socketIce.firstAnswer(ICE_FETCH_TIMEOUT_MS);
    if (this.#destroyed) throw new Error('page closing');
    c.startRing();
    const ice: IceConfig = viaSocket && viaSocket.iceServers.length > 0 ? { ...viaSocket, reason: 'ok' } : stun;
    this.#hooks.onIce(ice);
    this.#tick = setInterval(() => {
      this.#activity.update(c.swarms.map((s) => s.stats()));
      this.#hooks.onTick(c);
    }, STATS_INTERVAL_MS);
    return c;
  }

  #publish(): void {
    if (!this.#client) return;
    const handle: PageHandle = { client: this.#client, activity: this.#activity };
    if (this.#download) handle.download = this.#download;
    window.ringswarm = handle;
  }

  /** Stops the timers and the client. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearInterval(this.#tick);
    this.#activity.destroy();
    this.#socketIce?.destroy();
    this.#client?.destroy();
  }
}
