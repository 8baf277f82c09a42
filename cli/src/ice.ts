/**
 * ICE servers for the CLI peer: from --stun/--turn, or else from the tracker's /api/ice
 * (STUN, and TURN with short-lived credentials the tracker signs), refreshed before the
 * TURN credentials expire. Also how a connection's selected candidate pair is told to people.
 */
import type { SelectedPair } from '@ringswarm/shared';

/** Give up on /api/ice after this long and go on without ICE servers. */
export const ICE_FETCH_TIMEOUT_MS = 5_000;
/** Never refresh TURN credentials more often than this. */
const MIN_REFRESH_MS = 30_000;

export interface IceAnswer {
  iceServers: RTCIceServer[];
  /** Seconds the TURN credentials stay valid; 0 = nothing expires. */
  ttl: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function iceServerOf(value: unknown): RTCIceServer | null {
  if (!isRecord(value)) return null;
  const raw = typeof value.urls === 'string' ? [value.urls] : value.urls;
  if (!Array.isArray(raw) || raw.length === 0) return null;
  const urls = raw.filter((u): u is string => typeof u === 'string' && /^(stuns?|turns?):\S+$/.test(u));
  if (urls.length !== raw.length) return null;
  const server: RTCIceServer = { urls };
  if (value.username !== undefined || value.credential !== undefined) {
    if (typeof value.username !== 'string' || typeof value.credential !== 'string') return null;
    server.username = value.username;
    server.credential = value.credential;
  }
  return server;
}

/** Validates a /api/ice body; throws on anything but `{iceServers: [...], ttl?}`. */
export function parseIceAnswer(body: unknown): IceAnswer {
  if (!isRecord(body) || !Array.isArray(body.iceServers)) throw new Error('not an ICE answer');
  const iceServers = body.iceServers.map(iceServerOf);
  if (iceServers.some((s) => s === null)) throw new Error('bad ICE server in the answer');
  const ttl = typeof body.ttl === 'number' && Number.isFinite(body.ttl) && body.ttl > 0 ? body.ttl : 0;
  return { iceServers: iceServers.filter((s) => s !== null), ttl };
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
 * Keeps `target` filled with fresh servers from the tracker: replaced in place at half the
 * credentials' lifetime, so a client holding the same array uses them for its next links.
 * Returns a stop function. A failed refresh keeps the old servers until the next try.
 */
export function refreshIceServers(
  target: RTCIceServer[],
  trackerUrl: string,
  ttlS: number,
  onError: (err: Error) => void,
): () => void {
  if (ttlS <= 0) return () => {};
  const timer = setInterval(
    () => {
      fetchIceServers(trackerUrl).then(
        (answer) => target.splice(0, target.length, ...answer.iceServers),
        (err: Error) => onError(err),
      );
    },
    Math.max(MIN_REFRESH_MS, (ttlS * 1000) / 2),
  );
  timer.unref();
  return () => clearInterval(timer);
}

/** The ICE URLs without credentials, for printing. */
export function iceUrls(servers: readonly RTCIceServer[]): string[] {
  return servers.flatMap((s) => (typeof s.urls === 'string' ? [s.urls] : [...s.urls]));
}

/** True when the connection's packets go through a TURN server. */
export function isRelayed(pair: SelectedPair): boolean {
  return pair.local.type === 'relay' || pair.remote.type === 'relay';
}

/** "direct: srflx 203.0.113.10:40000 <-> srflx 203.0.113.20:40001 (udp)" */
export function describePair(pair: SelectedPair): string {
  const end = (c: SelectedPair['local']) =>
    `${c.type} ${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`;
  const how = isRelayed(pair) ? 'relayed through TURN' : 'direct';
  return `${how}: ${end(pair.local)} <-> ${end(pair.remote)} (${pair.local.protocol})`;
}
