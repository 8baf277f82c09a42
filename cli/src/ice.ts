/**
 * ICE servers for the CLI peer: from --stun/--turn, or else from the tracker's /api/ice
 * (STUN, and TURN with short-lived credentials the tracker signs), refreshed before the
 * TURN credentials expire. The answer's schema and the refresh schedule are the page's too
 * (shared protocol/ice.ts).
 */
import { type IceAnswer, iceAnswerOf, refreshDelayMs } from '@ringswarm/shared';

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

/**
 * Keeps `target` filled with fresh servers from the tracker: replaced in place after
 * {@link refreshDelayMs} of the latest credentials' lifetime, so a client holding the same
 * array uses them for its next links. Returns a stop function. A failed refresh keeps the
 * old servers and tries again after the same delay.
 */
export function refreshIceServers(
  target: RTCIceServer[],
  trackerUrl: string,
  ttlS: number,
  onError: (err: Error) => void,
): () => void {
  if (ttlS <= 0) return () => {};
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (seconds: number) => {
    timer = setTimeout(() => {
      fetchIceServers(trackerUrl).then(
        (answer) => {
          if (stopped) return;
          target.splice(0, target.length, ...answer.iceServers);
          schedule(answer.ttl > 0 ? answer.ttl : seconds);
        },
        (err: Error) => {
          if (stopped) return;
          onError(err);
          schedule(seconds);
        },
      );
    }, refreshDelayMs(seconds));
    timer.unref();
  };
  schedule(ttlS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The ICE URLs without credentials, for printing. */
export function iceUrls(servers: readonly RTCIceServer[]): string[] {
  return servers.flatMap((s) => (typeof s.urls === 'string' ? [s.urls] : [...s.urls]));
}
