/**
 * `ringswarm seed` and `ringswarm get`: the Node peer, on the same engine and wire as the
 * web page, with real WebRTC (@roamhq/wrtc) and files on disk.
 */

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Bitfield,
  choosePieceLength,
  createManifest,
  type DiscoveryMode,
  decodeManifest,
  ErrorCode,
  encodeManifest,
  formatBytes,
  formatDuration,
  formatRate,
  formatShareLink,
  hashPieces,
  infoHashOf,
  type Manifest,
  NO_ROUTE_MESSAGE,
  parseShareLink,
  RingswarmClient,
  RingswarmError,
  type SelectedPair,
  type Swarm,
} from '@ringswarm/shared';
import QRCode from 'qrcode';
import { DeferredPieceStore } from './deferred-store.js';
import { listFiles } from './files.js';
import { FsPieceStore, verifyStoredPieces } from './fs-piece-store.js';
import { describePair, fetchIceServers, iceUrls, isRelayed, refreshIceServers } from './ice.js';
import { bar, type Output } from './output.js';

/** How often the status line is redrawn. */
export const STATUS_INTERVAL_MS = 500;
/** Where `get` keeps the manifest of a download, for resuming: <out>/.ringswarm/<infohash>.json */
export const STATE_DIR = '.ringswarm';

export interface PeerOptions {
  tracker: string;
  iceServers: RTCIceServer[];
  /** No --stun/--turn given: ask the tracker for its ICE servers (GET /api/ice). */
  iceFromTracker: boolean;
  uploadLimit: number | null;
  downloadLimit: number | null;
  json: boolean;
  /** Join the ring (default true): route signaling, hold DHT records, find swarms without the tracker. */
  ring: boolean;
  /** Most live WebRTC connections. */
  maxLinks: number;
}

const wrtc: object = createRequire(import.meta.url)('@roamhq/wrtc');

function newClient(trackerUrl: string, options: PeerOptions, out: Output): RingswarmClient {
  const client = new RingswarmClient({
    trackerUrl,
    wrtc,
    iceServers: options.iceServers,
    ring: options.ring,
    maxLinks: options.maxLinks,
  });
  client.setRateLimits({ upload: options.uploadLimit, download: options.downloadLimit });
  client.on('warning', (err) => out.warn((err as RingswarmError).code ?? 'WARNING', err.message));
  client.tracker.on('error', (err) => out.error(err.code, `tracker refused the connection: ${err.message}`));
  return client;
}

/** How long to keep asking for a new link's selected candidate pair before reporting it unknown. */
const PAIR_WAIT_MS = 2_000;

/**
 * Fills `options.iceServers` from the tracker when no --stun/--turn was given (and keeps
 * the TURN credentials fresh), then says which servers are used and what none means.
 */
async function useIce(trackerUrl: string, options: PeerOptions, out: Output): Promise<void> {
  let source = 'flags';
  if (options.iceFromTracker) {
    source = 'tracker';
    try {
      const answer = await fetchIceServers(trackerUrl);
      options.iceServers.splice(0, options.iceServers.length, ...answer.iceServers);
      refreshIceServers(options.iceServers, trackerUrl, answer.ttl, (err) =>
        out.warn('ERR_ICE_REFRESH', `could not refresh the ICE servers: ${err.message}`),
      );
    } catch (err) {
      out.warn('ERR_ICE_FETCH', `could not get ICE servers from the tracker (${(err as Error).message}); using none`);
    }
  }
  const urls = iceUrls(options.iceServers);
  out.event(
    'ice',
    { source, urls },
    urls.length > 0
      ? `ICE servers (${source === 'tracker' ? 'from the tracker' : 'from the command line'}): ${urls.join(', ')}`
      : 'No STUN/TURN servers: host candidates only. Peers connect only when they can reach each other directly (same LAN, no NAT between them).',
  );
}

/** Reports, for every peer a swarm connects to, how the connection gets through (its selected candidate pair). */
function reportConnections(client: RingswarmClient, swarm: Swarm, out: Output): void {
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
function connectionsOf(client: RingswarmClient, swarm: Swarm) {
  return Promise.all(
    swarm.peerIds.map(async (peerId) => connectionFields(peerId, await client.connectionInfo(peerId))),
  );
}

/** Resolves on SIGINT/SIGTERM. */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** How often --json prints this peer's view of the ring. */
export const RING_STATUS_INTERVAL_MS = 500;

/**
 * Reports this peer's place in the ring: every {@link RING_STATUS_INTERVAL_MS} as a `ring`
 * event with --json, once on joining for people. Stops when the client closes.
 */
function watchRing(client: RingswarmClient, out: Output): void {
  if (!client.overlay) return;
  client.once('ring-joined', () => {
    const s = client.ringStats();
    if (s) out.event('ring-joined', { id: s.id }, `Joined the ring as ${s.id.slice(0, 8)}.`);
  });
  if (!out.json) return;
  const timer = setInterval(() => {
    const s = client.ringStats();
    if (s) out.event('ring', { ...s, links: client.linkCount });
  }, RING_STATUS_INTERVAL_MS);
  client.once('close', () => clearInterval(timer));
}

/** `ringswarm ring`: a ring member that shares nothing itself (it routes, holds DHT records). */
export async function ring(options: PeerOptions, out: Output): Promise<number> {
  await useIce(options.tracker, options, out);
  const client = newClient(options.tracker, { ...options, ring: true }, out);
  watchRing(client, out);
  const human = out.json
    ? null
    : setInterval(() => {
        const s = client.ringStats();
        if (!s) return;
        const where = s.joined
          ? `${s.id.slice(0, 8)} · predecessor ${s.predecessor?.slice(0, 8) ?? 'none'} · successor ${s.successors[0]?.slice(0, 8) ?? 'itself'}`
          : 'joining…';
        out.status(
          `ring ${where} · ${plural(s.fingers.length, 'finger')} · ${plural(client.linkCount, 'link')} · ${s.dhtRecords} DHT keys · ${s.signals.relayed} signals relayed`,
          {},
        );
      }, STATUS_INTERVAL_MS);
  const signal = await untilStopped();
  clearInterval(human ?? undefined);
  out.event('stopped', { signal }, `\nStopped (${signal}).`);
  client.destroy();
  return 0;
}

/** How long `search` waits to join the ring. */
export const SEARCH_JOIN_TIMEOUT_MS = 30_000;

/** `ringswarm search <name>`: joins the ring, looks the exact name up in the DHT, prints the links. */
export async function search(name: string, options: PeerOptions, out: Output): Promise<number> {
  await useIce(options.tracker, options, out);
  const client = newClient(options.tracker, { ...options, ring: true }, out);
  try {
    const joined = await Promise.race([
      new Promise<boolean>((resolve) => client.once('ring-joined', () => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), SEARCH_JOIN_TIMEOUT_MS)),
    ]);
    if (!joined) {
      out.error('ERR_RING_NOT_JOINED', `could not join the ring through ${options.tracker} within 30 s`);
      return 1;
    }
    const infoHashes = await client.searchByName(name);
    const links = infoHashes.map((h) => formatShareLink(options.tracker, h));
    out.event(
      'found',
      { name, infoHashes, links },
      links.length > 0 ? links.join('\n') : `Nothing shared under the exact name "${name}" right now.`,
    );
    return 0;
  } finally {
    client.destroy();
  }
}

/** Redraws the status of a swarm every {@link STATUS_INTERVAL_MS}; returns a stop function. */
function watch(swarm: Swarm, out: Output): () => void {
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

export async function seed(
  target: string,
  name: string | undefined,
  mode: DiscoveryMode,
  options: PeerOptions,
  out: Output,
): Promise<number> {
  const { name: shareName, files } = await listFiles(target, name);
  const layout = {
    files: files.map((f) => ({ path: f.path, length: f.length })),
    length: files.reduce((sum, f) => sum + f.length, 0),
    pieceLength: 0,
  };
  layout.pieceLength = choosePieceLength(layout.length);
  const store = new FsPieceStore(
    layout,
    '.',
    'read',
    files.map((f) => f.disk),
  );
  let lastDraw = 0;
  const pieces = await hashPieces(
    layout.length,
    layout.pieceLength,
    (offset, length) => store.readRange(offset, length),
    (done, total) => {
      if (done !== total && Date.now() - lastDraw < STATUS_INTERVAL_MS) return;
      lastDraw = Date.now();
      out.status(`hashing ${shareName} ${bar(done / total)}`, { done, total }, 'hashing');
    },
  );
  const manifest = createManifest({ name: shareName, files: layout.files, pieceLength: layout.pieceLength, pieces });
  const infoHash = await infoHashOf(manifest);
  const link = formatShareLink(options.tracker, infoHash, mode);
  const qr = options.json ? '' : await QRCode.toString(link, { type: 'terminal', small: true });
  out.event(
    'seeding',
    { link, infoHash, name: shareName, length: manifest.length, files: manifest.files.length },
    `Sharing ${shareName} (${formatBytes(manifest.length)}, ${plural(manifest.files.length, 'file')}).\n${qr}\nShare link: ${link}\nSeeding until Ctrl-C.`,
  );
  await useIce(options.tracker, options, out);
  const client = newClient(options.tracker, options, out);
  const swarm = await client.seed(manifest, store, Bitfield.full(pieces.length), mode);
  reportConnections(client, swarm, out);
  const stopWatching = watch(swarm, out);
  watchRing(client, out);
  const signal = await untilStopped();
  stopWatching();
  out.event('stopped', { signal }, `\nStopped (${signal}).`);
  client.destroy();
  return 0;
}

async function loadSavedManifest(path: string, infoHash: string): Promise<Manifest | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    return null;
  }
  const manifest = decodeManifest(bytes);
  return (await infoHashOf(manifest)) === infoHash ? manifest : null;
}

export async function get(
  linkText: string,
  outDir: string,
  keepSeeding: boolean,
  options: PeerOptions,
  out: Output,
): Promise<number> {
  const link = parseShareLink(linkText);
  if (link.mode === 'dht' && !options.ring) {
    throw new RingswarmError(ErrorCode.BAD_LINK, 'a trackerless (mode=dht) link needs the ring; drop --no-ring');
  }
  const statePath = join(outDir, STATE_DIR, `${link.infoHash}.json`);
  const saved = await loadSavedManifest(statePath, link.infoHash);
  const trackerUrl = options.tracker === '' ? link.trackerUrl : options.tracker;
  await useIce(trackerUrl, options, out);
  const client = newClient(trackerUrl, options, out);
  let swarm: Swarm;
  let resumed = 0;
  if (saved) {
    const store = new FsPieceStore(saved, outDir);
    const have = await verifyStoredPieces(saved, store, (done, total) =>
      out.status(`checking what is already in ${outDir} ${bar(done / total)}`, { done, total }, 'checking'),
    );
    resumed = have.count;
    out.event(
      'resume',
      { pieces: have.count, of: saved.pieces.length },
      `Resuming: ${have.count} of ${saved.pieces.length} pieces already here.`,
    );
    swarm = client.download(link.infoHash, store, { manifest: saved, have, mode: link.mode });
  } else {
    const deferred = new DeferredPieceStore();
    swarm = client.download(link.infoHash, deferred, { mode: link.mode });
    swarm.once('metadata', (manifest) => {
      deferred.attach(new FsPieceStore(manifest, outDir));
      out.event(
        'metadata',
        { name: manifest.name, length: manifest.length, files: manifest.files.length },
        `Downloading ${manifest.name} (${formatBytes(manifest.length)}, ${plural(manifest.files.length, 'file')}) into ${outDir}`,
      );
      // Kept so that a later `get` into the same folder resumes; written whole, then renamed.
      void mkdir(dirname(statePath), { recursive: true })
        .then(() => writeFile(`${statePath}.tmp`, encodeManifest(manifest)))
        .then(() => rename(`${statePath}.tmp`, statePath))
        .catch((err: Error) => out.warn('ERR_STORAGE', `could not save resume data: ${err.message}`));
    });
  }
  reportConnections(client, swarm, out);
  const stopWatching = watch(swarm, out);
  watchRing(client, out);
  const started = Date.now();
  const outcome = await new Promise<'done' | RingswarmError | string>((resolve) => {
    if (swarm.done) resolve('done');
    swarm.once('done', () => resolve('done'));
    swarm.once('error', (err) => resolve(err));
    // Every peer tried was out of reach and none is connected or still connecting: say so
    // rather than wait forever (ICE gives up within CONNECT_TIMEOUT_MS of each attempt).
    client.on('warning', (err) => {
      if (!(err instanceof RingswarmError) || err.code !== ErrorCode.NO_ROUTE) return;
      if (swarm.stats().peers === 0 && client.linkCount === 0) {
        resolve(new RingswarmError(ErrorCode.NO_ROUTE, NO_ROUTE_MESSAGE));
      }
    });
    void untilStopped().then(resolve);
  });
  stopWatching();
  if (outcome instanceof RingswarmError && outcome.code === ErrorCode.NO_ROUTE) {
    out.error(outcome.code, outcome.message);
    client.destroy();
    return 1;
  }
  if (outcome instanceof RingswarmError) {
    out.error(outcome.code, `${outcome.message}; the download is incomplete (run the same command to resume)`);
    client.destroy();
    return 1;
  }
  if (outcome !== 'done') {
    out.event('stopped', { signal: outcome }, `\nStopped (${outcome}); run the same command to resume.`);
    client.destroy();
    return 130;
  }
  const s = swarm.stats();
  const seconds = (Date.now() - started) / 1000;
  const connections = await connectionsOf(client, swarm);
  out.event(
    'done',
    {
      infoHash: link.infoHash,
      length: s.length,
      downloaded: s.downloaded,
      resumedPieces: resumed,
      seconds,
      connections,
    },
    `\nDone: ${formatBytes(s.length ?? 0)} verified in ${seconds.toFixed(1)} s (${formatRate(s.downloaded / Math.max(seconds, 0.001))}).`,
  );
  if (!keepSeeding) {
    client.destroy();
    return 0;
  }
  out.event('seeding', { infoHash: link.infoHash }, 'Seeding until Ctrl-C.');
  const stopSeedWatch = watch(swarm, out);
  const signal = await untilStopped();
  stopSeedWatch();
  out.event('stopped', { signal }, `\nStopped (${signal}).`);
  client.destroy();
  return 0;
}
