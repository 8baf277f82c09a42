/**
 * What the CLI commands share: their options, the client they run, where ICE servers come
 * from, and how connections, the ring and a swarm's progress are reported.
 */

import {
  BLOCKED_MESSAGE,
  ErrorCode,
  formatBytes,
  formatDuration,
  formatRate,
  plural,
  RingswarmClient,
  type RingswarmError,
  type SelectedPair,
  type Swarm,
} from '@ringswarm/shared';
import { describePair, fetchIceServers, ICE_FETCH_TIMEOUT_MS, iceOverSocket, iceUrls, isRelayed } from '../ice.js';
import { loadIdentity } from '../identity.js';
import { bar, type Output } from '../output.js';
import { loadWrtc } from '../wrtc.js';

/** How often the status line is redrawn. */
export const STATUS_INTERVAL_MS = 500;
/** Where `get` keeps the manifest of a download, for resuming: <out>/.ringswarm/<infohash>.json */
export const STATE_DIR = '.ringswarm';
/** How often --json prints this peer's view of the ring. */
export const RING_STATUS_INTERVAL_MS = 500;
/** How long to keep asking for a new link's selected candidate pair before reporting it unknown. */
const PAIR_WAIT_MS = 2_000;

export interface PeerOptions {
  tracker: string;
  iceServers: RTCIceServer[];
  /** No --stun/--turn given: ask the tracker for its ICE servers (STUN over HTTP, then STUN and TURN over the socket). */
  iceFromTracker: boolean;
  uploadLimit: number | null;
  downloadLimit: number | null;
  json: boolean;
  /** Join the ring (default true): route signaling, hold DHT records, find swarms without the tracker. */
  ring: boolean;
  /** Most live WebRTC connections. */
  maxLinks: number;
  /** `--identity FILE`: where the peer's key lives; default the per-user config dir (see ../identity.ts). */
  identityFile?: string | undefined;
}

const wrtc = loadWrtc();

/** A running peer: its client, and `stop()` that ends it (destroys the client, stops the ICE refresh). Idempotent. */
export interface Peer {
  client: RingswarmClient;
  stop(): void;
}

/**
 * Starts a client on `trackerUrl` with the rate limits, and warnings and tracker errors
 * reported through `out`; its ICE servers are STUN from /api/ice at first, then STUN and TURN
 * over the client's socket (waited for briefly, then renewed).
 */
export async function startPeer(trackerUrl: string, options: PeerOptions, out: Output): Promise<Peer> {
  const held = loadIdentity(options.identityFile);
  if (held.note) out.warn('IDENTITY_IN_USE', held.note);
  const { identity } = held;
  await stunFromTracker(trackerUrl, options, out);
  const client = new RingswarmClient({
    trackerUrl,
    identity,
    wrtc,
    iceServers: options.iceServers,
    ring: options.ring,
    // The ring's first links are made with the socket's TURN credentials (below), like the swarm's.
    holdRing: true,
    maxLinks: options.maxLinks,
  });
  client.setRateLimits({ upload: options.uploadLimit, download: options.downloadLimit });
  client.on('warning', (err) => out.warn((err as RingswarmError).code ?? 'WARNING', err.message));
  // With --json the code is a field of its own; people see it after the message, as with errors.
  client.on('blocked', () =>
    out.warn(ErrorCode.BLOCKED, out.json ? BLOCKED_MESSAGE : `${BLOCKED_MESSAGE} (${ErrorCode.BLOCKED})`),
  );
  client.tracker.on('error', (err) => out.error(err.code, `tracker refused the connection: ${err.message}`));
  const stopIce = await turnFromSocket(client, options, out);
  client.startRing();
  return {
    client,
    stop() {
      stopIce();
      client.destroy();
      held.release();
    },
  };
}

/** Says which ICE servers are used (`source`: flags, tracker or socket) and what none means. */
function reportIce(source: 'flags' | 'tracker' | 'socket', servers: readonly RTCIceServer[], out: Output): void {
  const urls = iceUrls(servers);
  const from =
    source === 'flags'
      ? 'from the command line'
      : source === 'tracker'
        ? 'from the tracker'
        : 'from the tracker socket';
  out.event(
    'ice',
    { source, urls },
    urls.length > 0
      ? `ICE servers (${from}): ${urls.join(', ')}`
      : 'No STUN/TURN servers: host candidates only. Peers connect only when they can reach each other directly (same LAN, no NAT between them).',
  );
}

/**
 * Fills `options.iceServers` with the tracker's STUN servers (GET /api/ice: never TURN)
 * when no --stun/--turn was given, for the first connections, and reports them.
 */
async function stunFromTracker(trackerUrl: string, options: PeerOptions, out: Output): Promise<void> {
  if (!options.iceFromTracker) return reportIce('flags', options.iceServers, out);
  try {
    const answer = await fetchIceServers(trackerUrl);
    options.iceServers.splice(0, options.iceServers.length, ...answer.iceServers);
  } catch (err) {
    out.warn('ERR_ICE_FETCH', `could not get ICE servers from the tracker (${(err as Error).message}); using none`);
  }
  reportIce('tracker', options.iceServers, out);
}

/**
 * Without --stun/--turn: waits (at most ICE_FETCH_TIMEOUT_MS) for STUN and TURN from the
 * tracker over the client's socket, so the first peer connections can be relayed, and keeps
 * them renewed. Returns the function that stops the renewal.
 */
async function turnFromSocket(client: RingswarmClient, options: PeerOptions, out: Output): Promise<() => void> {
  if (!options.iceFromTracker) return () => {};
  let first = true;
  const ice = iceOverSocket(
    client.tracker,
    options.iceServers,
    (servers) => {
      client.setIceServers(servers);
      if (first) reportIce('socket', servers, out);
      first = false;
    },
    (err) => out.warn('ERR_ICE_REFRESH', `could not get ICE servers over the tracker socket: ${err.message}`),
  );
  await ice.firstAnswer(ICE_FETCH_TIMEOUT_MS);
  return () => ice.destroy();
}

/** Reports, for every peer a swarm connects to, how the connection gets through (its selected candidate pair). */
export function reportConnections(client: RingswarmClient, swarm: Swarm, out: Output): void {
  swarm.on('peer', (remoteId) => {
    const started = Date.now();
    const report = async (): Promise<void> => {
      const pair = await client.connectionInfo(remoteId);
      if (!pair && Date.now() - started < PAIR_WAIT_MS) {
        setTimeout(() => void report(), 100);
        return;
      }
      out.event(
        'connection',
        connectionFields(remoteId, pair),
        `Peer ${remoteId.slice(0, 8)}: ${pair ? describePair(pair) : 'connection type unknown'}`,
      );
    };
    void report();
  });
}

/** A connection as --json tells it: `relayed`, `local` and `remote` are null when unknown. */
function connectionFields(peerId: string, pair: SelectedPair | null) {
  return { peerId, relayed: pair ? isRelayed(pair) : null, local: pair?.local ?? null, remote: pair?.remote ?? null };
}

/** The selected candidate pair of every peer still connected in a swarm. */
export function connectionsOf(client: RingswarmClient, swarm: Swarm) {
  return Promise.all(
    swarm.peerIds.map(async (peerId) => connectionFields(peerId, await client.connectionInfo(peerId))),
  );
}

/** Resolves on SIGINT/SIGTERM. */
export function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/**
 * Reports this peer's place in the ring: every {@link RING_STATUS_INTERVAL_MS} as a `ring`
 * event with --json, once on joining for people. Stops when the client closes.
 */
export function watchRing(client: RingswarmClient, out: Output): void {
  if (!client.overlay) return;
  const joined = () => {
    const s = client.ringStats();
    if (s) out.event('ring-joined', { id: s.id }, `Joined the ring as ${s.id.slice(0, 8)}.`);
  };
  // startPeer waits for the socket's ICE answer, and a lone first member joins before that.
  if (client.overlay.joined) joined();
  else client.once('ring-joined', joined);
  if (!out.json) return;
  const timer = setInterval(() => {
    const s = client.ringStats();
    if (s) out.event('ring', { ...s, links: client.linkCount });
  }, RING_STATUS_INTERVAL_MS);
  client.once('close', () => clearInterval(timer));
}

/** Redraws the status of a swarm every {@link STATUS_INTERVAL_MS}; returns a stop function. */
export function watch(swarm: Swarm, out: Output): () => void {
  const draw = () => {
    const s = swarm.stats();
    const fields = {
      have: s.have,
      length: s.length,
      peers: s.peers,
      downloadRate: s.downloadRate,
      uploadRate: s.uploadRate,
      uploaded: s.uploaded,
      eta: s.eta,
    };
    if (s.done || s.length === null) {
      const what = s.length === null ? 'looking for peers and the file description…' : 'seeding';
      out.status(
        `${what} · ${plural(s.peers, 'peer')} · ${formatBytes(s.uploaded)} uploaded (${formatRate(s.uploadRate)})`,
        fields,
      );
    } else {
      out.status(
        `${bar(s.have / Math.max(1, s.length))} ${formatRate(s.downloadRate)} · ETA ${formatDuration(s.eta)} · ${plural(s.peers, 'peer')}`,
        fields,
      );
    }
  };
  const timer = setInterval(draw, STATUS_INTERVAL_MS);
  return () => clearInterval(timer);
}
