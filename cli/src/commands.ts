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
  parseShareLink,
  RingswarmClient,
  RingswarmError,
  type Swarm,
} from '@ringswarm/shared';
import QRCode from 'qrcode';
import { DeferredPieceStore } from './deferred-store.js';
import { listFiles } from './files.js';
import { FsPieceStore, verifyStoredPieces } from './fs-piece-store.js';
import { bar, type Output } from './output.js';

/** How often the status line is redrawn. */
export const STATUS_INTERVAL_MS = 500;
/** Where `get` keeps the manifest of a download, for resuming: <out>/.ringswarm/<infohash>.json */
export const STATE_DIR = '.ringswarm';

export interface PeerOptions {
  tracker: string;
  iceServers: RTCIceServer[];
  uploadLimit: number | null;
  downloadLimit: number | null;
  json: boolean;
}

const wrtc: object = createRequire(import.meta.url)('@roamhq/wrtc');

function newClient(trackerUrl: string, options: PeerOptions, out: Output): RingswarmClient {
  const client = new RingswarmClient({ trackerUrl, wrtc, iceServers: options.iceServers });
  client.setRateLimits({ upload: options.uploadLimit, download: options.downloadLimit });
  client.on('warning', (err) => out.warn((err as RingswarmError).code ?? 'WARNING', err.message));
  client.tracker.on('error', (err) => out.error(err.code, `tracker refused the connection: ${err.message}`));
  return client;
}

/** Resolves on SIGINT/SIGTERM. */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

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
  const link = formatShareLink(options.tracker, infoHash);
  const qr = options.json ? '' : await QRCode.toString(link, { type: 'terminal', small: true });
  out.event(
    'seeding',
    { link, infoHash, name: shareName, length: manifest.length, files: manifest.files.length },
    `Sharing ${shareName} (${formatBytes(manifest.length)}, ${plural(manifest.files.length, 'file')}).\n${qr}\nShare link: ${link}\nSeeding until Ctrl-C.`,
  );
  const client = newClient(options.tracker, options, out);
  const swarm = await client.seed(manifest, store, Bitfield.full(pieces.length));
  const stopWatching = watch(swarm, out);
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
  if (link.mode === 'dht') {
    throw new RingswarmError(
      ErrorCode.BAD_LINK,
      'trackerless (mode=dht) links need the ring overlay, which this version does not have yet',
    );
  }
  const statePath = join(outDir, STATE_DIR, `${link.infoHash}.json`);
  const saved = await loadSavedManifest(statePath, link.infoHash);
  const client = newClient(options.tracker === '' ? link.trackerUrl : options.tracker, options, out);
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
    swarm = client.download(link.infoHash, store, { manifest: saved, have });
  } else {
    const deferred = new DeferredPieceStore();
    swarm = client.download(link.infoHash, deferred);
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
  const stopWatching = watch(swarm, out);
  const started = Date.now();
  const outcome = await new Promise<'done' | RingswarmError | string>((resolve) => {
    if (swarm.done) resolve('done');
    swarm.once('done', () => resolve('done'));
    swarm.once('error', (err) => resolve(err));
    void untilStopped().then(resolve);
  });
  stopWatching();
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
  out.event(
    'done',
    { infoHash: link.infoHash, length: s.length, downloaded: s.downloaded, resumedPieces: resumed, seconds },
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
