/**
 * STUN/TURN servers for WebRTC. `GET /api/ice` gives STUN entries only, before the client
 * starts; TURN credentials (labelled with this peer's ID) come over the client's tracker
 * socket once it is connected and are renewed before they expire: {@link iceOverSocket}.
 */
import { iceAnswerOf, SocketIce, type SocketIceTracker, systemClock } from '@ringswarm/shared';

export interface IceConfig {
  iceServers: RTCIceServer[];
  /** Seconds the TURN credentials stay valid; 0 when there are none to renew. */
  ttl: number;
  /** Why the list is empty: the server has none, or could not be asked. */
  reason: 'ok' | 'none' | 'unavailable';
}

/** Gives up on the server's answer after this long and goes on without STUN/TURN. */
export const ICE_FETCH_TIMEOUT_MS = 5_000;

/**
 * Keeps the well-formed entries of an untrusted `{ iceServers: [...] }` answer; null when it
 * is no such answer or none of its entries is usable (the shared {@link iceAnswerOf}).
 */
export function parseIceServers(value: unknown): RTCIceServer[] | null {
  return iceAnswerOf(value)?.iceServers ?? null;
}

/** Asks the server for its STUN servers over plain HTTP (`GET /api/ice`: never TURN). */
export async function loadIceServers(): Promise<IceConfig> {
  try {
    const res = await fetch('/api/ice', { cache: 'no-store', signal: AbortSignal.timeout(ICE_FETCH_TIMEOUT_MS) });
    if (!res.ok) return { iceServers: [], ttl: 0, reason: res.status === 404 ? 'none' : 'unavailable' };
    const answer = iceAnswerOf(await res.json());
    if (answer === null) return { iceServers: [], ttl: 0, reason: 'unavailable' };
    return { ...answer, reason: answer.iceServers.length === 0 ? 'none' : 'ok' };
  } catch {
    return { iceServers: [], ttl: 0, reason: 'unavailable' };
  }
}

/**
 * STUN and TURN over the tracker socket (the `ice` event), asked once it is connected and
 * renewed at half the credentials' lifetime by the shared {@link SocketIce}; `apply` gets
 * every fresh list (the client's setIceServers). A failed renewal keeps the servers in use.
 */
export function iceOverSocket(tracker: SocketIceTracker, apply: (servers: RTCIceServer[]) => void): SocketIce {
  return new SocketIce({
    clock: systemClock,
    tracker,
    onServers: apply,
    onError: (err) => console.warn('ringswarm: ICE servers over the tracker socket:', err.message),
  });
}
