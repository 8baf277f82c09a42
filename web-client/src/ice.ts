/** STUN/TURN servers for WebRTC, fetched from the server (`GET /api/ice`) before the client starts. */

export interface IceConfig {
  iceServers: RTCIceServer[];
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
 * (the server's `ttl`), so they are fetched fresh for each page load.
 */
export async function loadIceServers(peerId: string): Promise<IceConfig> {
  try {
    const res = await fetch(`/api/ice?peer=${encodeURIComponent(peerId)}`, {
      cache: 'no-store',
      signal: AbortSignal.timeout(ICE_FETCH_TIMEOUT_MS),
    });
    if (!res.ok) return { iceServers: [], reason: res.status === 404 ? 'none' : 'unavailable' };
    const iceServers = parseIceServers(await res.json());
    if (iceServers === null) return { iceServers: [], reason: 'unavailable' };
    return { iceServers, reason: iceServers.length === 0 ? 'none' : 'ok' };
  } catch {
    return { iceServers: [], reason: 'unavailable' };
  }
}
