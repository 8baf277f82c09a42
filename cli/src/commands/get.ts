/**
 * `ringswarm get <link>`: downloads a share into a folder, resuming from what is already
 * there, then (unless --no-seed) seeds it until stopped.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  BLOCKED_MESSAGE,
  ErrorCode,
  encodeManifest,
  formatBytes,
  formatRate,
  loadVerifiedManifest,
  type Manifest,
  NO_ROUTE_MESSAGE,
  parseShareLink,
  plural,
  type RingswarmClient,
  RingswarmError,
  type Swarm,
  sha256Hex,
  verifyStoredPieces,
} from '@ringswarm/shared';
import { DeferredPieceStore } from '../deferred-store.js';
import { FsPieceStore } from '../fs-piece-store.js';
import { bar, type Output } from '../output.js';
import {
  connectionsOf,
  type PeerOptions,
  reportConnections,
  STATE_DIR,
  startPeer,
  untilStopped,
  watch,
  watchRing,
} from './common.js';

export interface GetRequest {
  /** The share link as given. */
  link: string;
  /** Folder the files are written into. */
  outDir: string;
  /** Go on seeding after the download is done (the default; --no-seed turns it off). */
  keepSeeding: boolean;
}

/**
 * The manifest `get` kept in `path` during an earlier run, or null when there is none. A file
 * that does not decode or does not hash to `infoHash` is deleted with a warning, so the
 * download starts fresh instead of failing.
 */
async function loadResumeManifest(path: string, infoHash: string, out: Output): Promise<Manifest | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    return null;
  }
  const manifest = await loadVerifiedManifest(bytes, infoHash);
  if (manifest === null) {
    out.warn(ErrorCode.BAD_RESUME_DATA, `the resume data ${path} is damaged or for another share; starting afresh`);
    await rm(path, { force: true }).catch(() => {});
  }
  return manifest;
}

/** Keeps the manifest so that a later `get` into the same folder resumes; written whole, then renamed. */
function saveResumeManifest(path: string, manifest: Manifest, out: Output): void {
  void mkdir(dirname(path), { recursive: true })
    .then(() => writeFile(`${path}.tmp`, encodeManifest(manifest)))
    .then(() => rename(`${path}.tmp`, path))
    .catch((err: Error) => out.warn('ERR_STORAGE', `could not save resume data: ${err.message}`));
}

export async function get(request: GetRequest, options: PeerOptions, out: Output): Promise<number> {
  const link = parseShareLink(request.link);
  if (link.mode === 'dht' && !options.ring) {
    throw new RingswarmError(ErrorCode.BAD_LINK, 'a trackerless (mode=dht) link needs the ring; drop --no-ring');
  }
  const { outDir } = request;
  const statePath = join(outDir, STATE_DIR, `${link.infoHash}.json`);
  const saved = await loadResumeManifest(statePath, link.infoHash, out);
  const trackerUrl = options.tracker === '' ? link.trackerUrl : options.tracker;
  const peer = await startPeer(trackerUrl, options, out);
  const { client } = peer;
  try {
    let swarm: Swarm;
    let resumed = 0;
    if (saved) {
      const store = new FsPieceStore(saved, { dir: outDir });
      const have = await verifyStoredPieces(saved, store, {
        hash: sha256Hex,
        onProgress: (done, total) =>
          out.status(`checking what is already in ${outDir} ${bar(done / total)}`, { done, total }, 'checking'),
      });
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
        deferred.attach(new FsPieceStore(manifest, { dir: outDir }));
        out.event(
          'metadata',
          { name: manifest.name, length: manifest.length, files: manifest.files.length },
          `Downloading ${manifest.name} (${formatBytes(manifest.length)}, ${plural(manifest.files.length, 'file')}) into ${outDir}`,
        );
        saveResumeManifest(statePath, manifest, out);
      });
    }
    reportConnections(client, swarm, out);
    const stopWatching = watch(swarm, out);
    watchRing(client, out);
    const started = Date.now();
    const outcome = await downloadOutcome(client, swarm);
    stopWatching();
    if (
      outcome instanceof RingswarmError &&
      (outcome.code === ErrorCode.NO_ROUTE || outcome.code === ErrorCode.BLOCKED)
    ) {
      out.error(outcome.code, outcome.message);
      return 1;
    }
    if (outcome instanceof RingswarmError) {
      out.error(outcome.code, `${outcome.message}; the download is incomplete (run the same command to resume)`);
      return 1;
    }
    if (outcome !== 'done') {
      out.event('stopped', { signal: outcome }, `\nStopped (${outcome}); run the same command to resume.`);
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
    if (!request.keepSeeding) return 0;
    out.event('seeding', { infoHash: link.infoHash }, 'Seeding until Ctrl-C.');
    const stopSeedWatch = watch(swarm, out);
    const signal = await untilStopped();
    stopSeedWatch();
    out.event('stopped', { signal }, `\nStopped (${signal}).`);
    return 0;
  } finally {
    peer.stop();
  }
}

/**
 * How the download ends: 'done', the swarm's error, ERR_NO_ROUTE when every peer tried was
 * out of reach, ERR_BLOCKED when the tracker refused the share and there is no ring to find
 * peers through instead (--no-ring), or the signal that stopped the process.
 */
function downloadOutcome(client: RingswarmClient, swarm: Swarm): Promise<'done' | RingswarmError | string> {
  return new Promise((resolve) => {
    if (swarm.done) resolve('done');
    swarm.once('done', () => resolve('done'));
    swarm.once('error', (err) => resolve(err));
    client.on('blocked', (infoHash) => {
      if (infoHash === swarm.infoHash && !client.overlay) {
        resolve(
          new RingswarmError(
            ErrorCode.BLOCKED,
            `${BLOCKED_MESSAGE}; without the ring (--no-ring) no peer can be found`,
          ),
        );
      }
    });
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
}
