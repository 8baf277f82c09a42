/**
 * ICE servers for the CLI peer: from --stun/--turn, or else from the tracker's /api/ice
 * (STUN, and TURN with short-lived credentials the tracker signs), refreshed before the
 * TURN credentials expire. The answer's schema and the refresh schedule are the page's too
 * (shared protocol/ice.ts).
 */
import { type Clock, type IceAnswer, IceRefresher, iceAnswerOf, systemClock } from '@ringswarm/shared';

export { describePair, isRelayed } from '@ringswarm/shared';

/** Give up on /api/ice after this long and go on without ICE servers. */
export const ICE_FETCH_TIMEOUT_MS = 5_000;

/**
 * Validates a /api/ice body ({@link iceAnswerOf}: bad entries are dropped); throws when the
 * body is no ICE answer or none of its entries is usable.
 */
export function parseIceAnswer(body: unknown): IceAnswer {
  const answer = iceAnswerOf(body);
  if (answer === null) throw new Error('not a usable ICE answer');
  return answer;
}

/** GET <tracker>/api/ice. */
export async function fetchIceServers(trackerUrl: string, peerId?: string): Promise<IceAnswer> {
  const url = new URL('/api/ice', trackerUrl);
  if (peerId !== undefined) url.searchParams.set('peer', peerId);
  const res = await fetch(url, { signal: AbortSignal.timeout(ICE_FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url.pathname} answered ${res.status}`);
  return parseIceAnswer(await res.json());
}

/** The system clock, with timers that do not keep the process alive. */
const unrefClock: Clock = {
  ...systemClock,
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
};

/**
 * Keeps `target` filled with fresh servers from the tracker, minted for `peerId` each time:
 * replaced in place by the shared {@link IceRefresher} (after refreshDelayMs of the
 * latest credentials' lifetime), so a client holding the same array uses them for its next
 * links. A failed or empty refresh keeps the old servers. Returns a stop function.
 */
export function refreshIceServers(
  target: RTCIceServer[],
  trackerUrl: string,
  peerId: string,
  ttlS: number,
  onError: (err: Error) => void,
): () => void {
  const refresher = new IceRefresher({
    clock: unrefClock,
    peerId,
    ttl: ttlS,
    fetch: (peer) => fetchIceServers(trackerUrl, peer),
    onServers: (servers) => target.splice(0, target.length, ...servers),
    onError,
  });
  return () => refresher.destroy();
}

/** The ICE URLs without credentials, for printing. */
export function iceUrls(servers: readonly RTCIceServer[]): string[] {
  return servers.flatMap((s) => (typeof s.urls === 'string' ? [s.urls] : [...s.urls]));
}
