/**
 * The signaling server's `GET /api/ice` answer as a client reads it, and when a client asks
 * again. The page and the CLI both go through here, so they accept the same answers and
 * renew TURN credentials on the same schedule.
 *
 * One rule for bad input: an entry that is not a usable ICE server is dropped and the
 * rest are kept (one odd entry must not cost a peer its STUN server). An answer that is not
 * `{ iceServers: [...] }`, or whose entries are all unusable, is refused as a whole: the
 * caller then goes on without ICE servers, or keeps the ones it has.
 */
import { z } from 'zod';

/** A STUN or TURN URL (RFC 7064, RFC 7065): the only schemes RTCPeerConnection takes. */
const ICE_URL = /^(stuns?|turns?):\S+$/;

const IceUrlSchema = z.string().regex(ICE_URL);

/**
 * One RTCIceServer, as JSON (declared here, not taken from the DOM typings, so the server can
 * import the protocol without them).
 */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** One entry of `iceServers`; TURN needs both `username` and `credential`, STUN neither. */
export const IceServerSchema = z
  .object({
    urls: z.union([IceUrlSchema, z.array(IceUrlSchema).min(1)]),
    username: z.string().optional(),
    credential: z.string().optional(),
  })
  .refine((s) => (s.username === undefined) === (s.credential === undefined), {
    message: 'username and credential come together',
  })
  .transform((s): IceServer => {
    const server: IceServer = { urls: s.urls };
    if (s.username !== undefined && s.credential !== undefined) {
      server.username = s.username;
      server.credential = s.credential;
    }
    return server;
  });

/** The envelope; entries are checked one by one (see the module comment). */
const IceEnvelopeSchema = z.object({
  iceServers: z.array(z.unknown()),
  /** Seconds the TURN credentials stay valid; anything but a positive number means none expire. */
  ttl: z.number().positive().catch(0),
});

export interface IceAnswer {
  /** Ready for `new RTCPeerConnection({ iceServers })`; empty = host candidates only. */
  iceServers: IceServer[];
  /** Seconds the TURN credentials stay valid; 0 = nothing expires. */
  ttl: number;
}

/**
 * Reads an untrusted `/api/ice` body: the usable servers and their lifetime, or null when the
 * body is no ICE answer or none of its entries can be used. Never throws.
 */
export function iceAnswerOf(body: unknown): IceAnswer | null {
  const envelope = IceEnvelopeSchema.safeParse(body);
  if (!envelope.success) return null;
  const iceServers: IceServer[] = [];
  for (const entry of envelope.data.iceServers) {
    const server = IceServerSchema.safeParse(entry);
    if (server.success) iceServers.push(server.data);
  }
  if (iceServers.length === 0 && envelope.data.iceServers.length > 0) return null;
  return { iceServers, ttl: envelope.data.ttl };
}

/** Never ask for fresh TURN credentials more often than this. */
export const MIN_ICE_REFRESH_MS = 30_000;

/**
 * How long after fetching credentials that live `ttlSeconds` (> 0) to fetch fresh ones: at
 * half their lifetime, so a failed refresh still leaves the other half to try again before
 * new connections would be refused by the TURN server; and never sooner than
 * {@link MIN_ICE_REFRESH_MS}, so a tiny or hostile `ttl` cannot make every peer hammer the
 * server. The server's shortest allowed TURN lifetime (60 s) gives 30 s either way.
 */
export function refreshDelayMs(ttlSeconds: number): number {
  return Math.max(MIN_ICE_REFRESH_MS, (ttlSeconds * 1000) / 2);
}
