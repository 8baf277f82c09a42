/**
 * ICE servers for the CLI peer: from --stun/--turn, or else from the tracker: STUN from its
 * /api/ice before the socket is up, then STUN and TURN (short-lived credentials the tracker
 * signs for this peer's ID) over the socket, renewed before they expire. The answer's schema
 * and the renewal schedule are the page's too (shared protocol/ice.ts, net/socket-ice.ts).
 */
import {
  type Clock,
  type IceAnswer,
  iceAnswerOf,
  SocketIce,
  type SocketIceTracker,
  systemClock,
} from '@ringswarm/shared';

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

/** GET <tracker>/api/ice: STUN entries only (TURN credentials come over the socket, {@link iceOverSocket}). */
export async function fetchIceServers(trackerUrl: string): Promise<IceAnswer> {
  const url = new URL('/api/ice', trackerUrl);
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
 * Asks the tracker over the client's socket for STUN and TURN servers (TURN credentials
 * labelled with this peer's ID) once it is connected, and renews them before they expire
 * (the shared {@link SocketIce}); each answer replaces `target`'s contents and goes to
 * `apply` (the client's setIceServers). A failed or empty renewal keeps the old servers.
 */
export function iceOverSocket(
  tracker: SocketIceTracker,
  target: RTCIceServer[],
  apply: (servers: RTCIceServer[]) => void,
  onError: (err: Error) => void,
): SocketIce {
  return new SocketIce({
    clock: unrefClock,
    tracker,
    onServers: (servers) => {
      target.splice(0, target.length, ...servers);
      apply(target);
    },
    onError,
  });
}

/** The ICE URLs without credentials, for printing. */
export function iceUrls(servers: readonly RTCIceServer[]): string[] {
  return servers.flatMap((s) => (typeof s.urls === 'string' ? [s.urls] : [...s.urls]));
}
