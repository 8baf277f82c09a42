/** STUN/TURN servers for WebRTC, fetched from the server (`GET /api/ice`) before the client starts. */
import { iceAnswerOf } from '@ringswarm/shared';

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

/**
 * Asks the server for STUN/TURN servers; TURN credentials are minted for `peerId` and expire
 * (the server's `ttl`): the page fetches them again after `refreshDelayMs(ttl)`.
 */
export async function loadIceServers(peerId: string): Promise<IceConfig> {
  try {
    const res = await fetch(`/api/ice?peer=${encodeURIComponent(peerId)}`, {
      cache: 'no-store',
      signal: AbortSignal.timeout(ICE_FETCH_TIMEOUT_MS),
    });
    if (!res.ok) return { iceServers: [], ttl: 0, reason: res.status === 404 ? 'none' : 'unavailable' };
    const answer = iceAnswerOf(await res.json());
    if (answer === null) return { iceServers: [], ttl: 0, reason: 'unavailable' };
    return { ...answer, reason: answer.iceServers.length === 0 ? 'none' : 'ok' };
  } catch {
    return { iceServers: [], ttl: 0, reason: 'unavailable' };
  }
}
