/**
 * The tracker protocol: socket.io events between peers and the signaling server.
 * One source of truth: the server and every client type their sockets with these maps
 * and validate inbound payloads with these schemas.
 */
import { z } from 'zod';
import type { ErrorCode } from './errors.js';
import type { IceAnswer } from './ice.js';
import { DiscoveryKeySchema, PeerIdSchema } from './ids.js';

/** 2: the handshake proves the peer ID's key (`./tracker-auth.ts`). */
export const PROTOCOL_VERSION = 2;

/**
 * The socket.io handshake `auth` object: the peer ID, and a proof that the sender holds its
 * key, signed over `trackerAuthMessage(peerId, ts, nonce)` (`./tracker-auth.ts`).
 */
export const HandshakeAuthSchema = z.strictObject({
  peerId: PeerIdSchema,
  version: z.number().int().positive(),
  /** The raw Ed25519 public key, 64 lowercase hex digits; SHA-256 of it starts with the peer ID. */
  publicKey: z.string().regex(/^[0-9a-f]{64}$/, 'public key must be 64 lowercase hex digits'),
  /** When the proof was signed, ms since the epoch. */
  ts: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** 16 random bytes, 32 lowercase hex digits: each proof is used once. */
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'nonce must be 32 lowercase hex digits'),
  /** The Ed25519 signature, 128 lowercase hex digits. */
  signature: z.string().regex(/^[0-9a-f]{128}$/, 'signature must be 128 lowercase hex digits'),
});
export type HandshakeAuth = z.infer<typeof HandshakeAuthSchema>;

const Counter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const AnnounceEventSchema = z.enum(['started', 'update', 'completed', 'stopped']);
export type AnnounceEvent = z.infer<typeof AnnounceEventSchema>;

export const AnnounceRequestSchema = z.strictObject({
  /** The swarm, by its discovery key: the tracker never sees an infohash. */
  discoveryKey: DiscoveryKeySchema,
  event: AnnounceEventSchema,
  /** Bytes still missing; `null` while the peer does not have the manifest yet. 0 = seeder. */
  left: Counter.nullable(),
  uploaded: Counter,
  downloaded: Counter,
  /** How many peers the caller wants back (the server caps it). */
  numwant: z.number().int().nonnegative().max(1000),
});
export type AnnounceRequest = z.infer<typeof AnnounceRequestSchema>;

export interface AnnounceResult {
  peers: string[];
  complete: number;
  incomplete: number;
  /** Seconds until the next regular announce. */
  interval: number;
}

export const SignalRequestSchema = z.strictObject({
  to: PeerIdSchema,
  /** Opaque WebRTC signaling data (SDP offer/answer or ICE candidate). */
  data: z.record(z.string(), z.unknown()),
});
export type SignalRequest = z.infer<typeof SignalRequestSchema>;

/** Most discovery keys one scrape may ask about. */
export const MAX_SCRAPE_HASHES = 100;

export const ScrapeRequestSchema = z.strictObject({
  discoveryKeys: z.array(DiscoveryKeySchema).min(1).max(MAX_SCRAPE_HASHES),
});
export type ScrapeRequest = z.infer<typeof ScrapeRequestSchema>;

export interface SwarmCounts {
  /** Seeders: peers with the whole file. */
  complete: number;
  /** Leechers: peers still downloading. */
  incomplete: number;
  /** Downloads completed in this swarm. */
  downloaded: number;
}

export interface ScrapeResult {
  /** Keyed by discovery key. */
  files: Record<string, SwarmCounts>;
}

/** Most ring members one bootstrap answer may name. */
export const MAX_BOOTSTRAP_PEERS = 16;

export const RingBootstrapRequestSchema = z.strictObject({
  /** How many well-known members the caller wants (the server caps it). */
  k: z.number().int().min(1).max(MAX_BOOTSTRAP_PEERS),
  /**
   * False for a peer that will attach as a leaf (it is not a ring member, so it is never named
   * to others as one); default true.
   */
  member: z.boolean().optional(),
});
export type RingBootstrapRequest = z.infer<typeof RingBootstrapRequestSchema>;

export interface RingBootstrapResult {
  /** Live ring members, never the caller; empty for the first peer (it forms a ring of one). */
  peers: string[];
}

/**
 * `ice`: asks for ICE servers over the authenticated socket. The answer (an {@link IceAnswer}:
 * STUN entries, and TURN entries whose TURN REST credentials are labelled with the socket's
 * bound peer ID, username `<expiry unix s>:<peerId>`, valid `ttl` seconds) is the only way to
 * TURN credentials; `GET /api/ice` answers STUN entries only. Rate-limited per socket and per
 * IP address (ERR_RATE_LIMITED).
 */
export const IceRequestSchema = z.strictObject({});
export type IceRequest = z.infer<typeof IceRequestSchema>;

/** A signal as delivered: the server stamps `from` with the sender's bound peer ID. */
export interface RelayedSignal {
  from: string;
  data: Record<string, unknown>;
}
export const RelayedSignalSchema = z.strictObject({
  from: PeerIdSchema,
  data: z.record(z.string(), z.unknown()),
});

/**
 * Features a tracker speaks beyond {@link PROTOCOL_VERSION}, named in its `hello`. A client
 * uses one only once the tracker it is connected to has named it, so it works with an older
 * tracker (and each instance of a cluster in a rolling upgrade) as before.
 */
export const TrackerFeature = {
  /**
   * `signal` may come without an ack: nothing comes back when it is relayed, and a refusal
   * comes back as `signal:refused` naming the target. An ack per signal costs the tracker a
   * packet and the client a timer, for an answer that is almost always "relayed".
   */
  SIGNAL_WITHOUT_ACK: 'signal-without-ack',
} as const;

/** Most features one `hello` may name. */
export const MAX_TRACKER_FEATURES = 32;

/**
 * `hello`: the first event on every connection, naming the features this tracker speaks.
 * Fields a later tracker adds are ignored, not refused.
 */
export const TrackerHelloSchema = z.object({
  features: z.array(z.string().max(64)).max(MAX_TRACKER_FEATURES),
});
export type TrackerHello = z.infer<typeof TrackerHelloSchema>;

/**
 * `signal:refused`: why a `signal` sent without an ack was not relayed (the codes its ack
 * would have carried). `to` is the target it named, absent when the request named none that
 * could be read.
 */
export const SignalRefusalSchema = z.strictObject({
  to: PeerIdSchema.optional(),
  code: z.string().regex(/^ERR_[A-Z_]{1,48}$/, 'code must be an ERR_ code'),
  message: z.string().max(512),
});
export interface SignalRefusal {
  to?: string;
  code: ErrorCode;
  message: string;
}

export interface ErrorAck {
  ok: false;
  code: ErrorCode;
  message: string;
}
export type Ack<T extends object = object> = ({ ok: true } & T) | ErrorAck;

export interface ClientToServerEvents {
  announce: (req: AnnounceRequest, ack: (res: Ack<AnnounceResult>) => void) => void;
  scrape: (req: ScrapeRequest, ack: (res: Ack<ScrapeResult>) => void) => void;
  /** The ack may be left out once the tracker's `hello` names {@link TrackerFeature.SIGNAL_WITHOUT_ACK}. */
  signal: (req: SignalRequest, ack?: (res: Ack) => void) => void;
  'ring:bootstrap': (req: RingBootstrapRequest, ack: (res: Ack<RingBootstrapResult>) => void) => void;
  ice: (req: IceRequest, ack: (res: Ack<IceAnswer>) => void) => void;
}

export interface ServerToClientEvents {
  hello: (msg: TrackerHello) => void;
  signal: (msg: RelayedSignal) => void;
  'signal:refused': (msg: SignalRefusal) => void;
}

/**
 * The server's view of the same events: every argument is `unknown` until a schema says
 * otherwise, because any client can send anything.
 */
export type Inbound<T> = { [K in keyof T]: (...args: unknown[]) => void };

/** Names of the client-to-server events, for per-event accounting. */
export const CLIENT_EVENTS = [
  'announce',
  'scrape',
  'signal',
  'ring:bootstrap',
  'ice',
] as const satisfies readonly (keyof ClientToServerEvents)[];

/** Formats a zod failure as one short line for an error ack. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
