/** STUN/TURN servers for WebRTC, fetched from the server (`GET /api/ice`) before the client starts. */

export interface IceConfig {
  iceServers: RTCIceServer[];
  /** Seconds the TURN credentials stay valid; 0 when there are none to renew. */
  ttl: number;
  /** Why the list is empty: the server has none, or could not be asked. */
  reason: 'ok' | 'none' | 'unavailable';
}

/** Gives up on the server's answer after this long and goes on without STUN/TURN. */
export const ICE_FETCH_TIMEOUT_MS = 5_000;

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Keeps the well-formed entries of an untrusted `{ iceServers: [...] }` answer. */
export function parseIceServers(value: unknown): RTCIceServer[] | null {
  if (typeof value !== 'object' || value === null || !('iceServers' in value)) return null;
  const list = value.iceServers;
  if (!Array.isArray(list)) return null;
  const out: RTCIceServer[] = [];
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null || !('urls' in item)) continue;
    const urls = item.urls;
    if (typeof urls !== 'string' && !isStringArray(urls)) continue;
    const server: RTCIceServer = { urls };
    if ('username' in item && typeof item.username === 'string') server.username = item.username;
    if ('credential' in item && typeof item.credential === 'string') server.credential = item.credential;
    out.push(server);
  }
  return out;
}

/**
 * Asks the server for STUN/TURN servers; TURN credentials are minted for `peerId` and expire
 * (the server's `ttl`): the page fetches them again at half their lifetime.
 */
export async function loadIceServers(peerId: string): Promise<IceConfig> {
  try {
    const res = await fetch(`/api/ice?peer=${encodeURIComponent(peerId)}`, {
      cache: 'no-store',
      signal: AbortSignal.timeout(ICE_FETCH_TIMEOUT_MS),
    });
    if (!res.ok) return { iceServers: [], ttl: 0, reason: res.status === 404 ? 'none' : 'unavailable' };
    const body: unknown = await res.json();
    const iceServers = parseIceServers(body);
    if (iceServers === null) return { iceServers: [], ttl: 0, reason: 'unavailable' };
    const ttl = typeof body === 'object' && body !== null && 'ttl' in body ? body.ttl : 0;
    return {
      iceServers,
      ttl: typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0 ? ttl : 0,
      reason: iceServers.length === 0 ? 'none' : 'ok',
    };
  } catch {
    return { iceServers: [], ttl: 0, reason: 'unavailable' };
  }
}
