/**
 * `ringswarm get <link>`: downloads a share into a folder, resuming from what is already
 * there, then (unless --no-seed) seeds it until stopped.
 */
import { constants, lstat, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Bitfield,
  BLOCKED_MESSAGE,
  ErrorCode,
  encodeManifest,
  formatBytes,
  formatRate,
  loadVerifiedManifest,
  MAX_MANIFEST_BYTES,
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
import { ensureRealFolder, FsPieceStore } from '../fs-piece-store.js';
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

/** A warning whose code people see too (after the message), as with errors; --json has it as a field. */
function warnCoded(out: Output, code: string, message: string): void {
  out.warn(code, out.json ? message : `${message} (${code})`);
}

/**
 * The manifest `get` kept in `path` during an earlier run, or null when there is none. One
 * that is not a regular file, does not decode or does not hash to `infoHash` (corrupt, cut
 * short, another share's) is deleted with one warning, and counts as absent: what is on disk
 * is checked again once the manifest comes from peers.
 */
async function loadResumeManifest(path: string, infoHash: string, out: Output): Promise<Manifest | null> {
  let manifest: Manifest | null = null;
  try {
    const info = await lstat(path);
    // Never read through a link, nor from a FIFO or device planted there (a read could block or never end).
    if (info.isFile() && info.size <= MAX_MANIFEST_BYTES) {
      const handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
      try {
        manifest = await loadVerifiedManifest(await handle.readFile(), infoHash);
      } finally {
        await handle.close();
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
  }
  if (manifest === null) {
    warnCoded(
      out,
      ErrorCode.BAD_RESUME_DATA,
      `the resume data ${path} is damaged or for another share; checking what is on disk afresh`,
    );
    await rm(path, { force: true, recursive: true }).catch(() => {});
  }
  return manifest;
}

/**
 * Keeps the manifest so that a later `get` into the same folder resumes: written whole, then
 * renamed, never through a symbolic link (the state folder must be a real folder). Never
 * rejects: a failure is a warning.
 */
async function saveResumeManifest(outDir: string, path: string, manifest: Manifest, out: Output): Promise<void> {
  const tmp = `${path}.tmp`;
  await ensureRealFolder(outDir, STATE_DIR)
    .then(async () => {
      await rm(tmp, { force: true });
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
      const handle = await open(tmp, flags, 0o644);
      try {
        await handle.writeFile(encodeManifest(manifest));
      } finally {
        await handle.close();
      }
      // rename replaces whatever is at `path` (a link included) and never follows it.
      await rename(tmp, path);
    })
    .catch((err: Error) => out.warn(ErrorCode.STORAGE, `could not save resume data: ${err.message}`));
}

/**
 * Prepares the files of a download in `store` (paths checked, lengths set) and finds, by hash,
 * the pieces already there: only pieces that touch a file that existed before are read.
 */
async function checkOnDisk(manifest: Manifest, store: FsPieceStore, out: Output, outDir: string): Promise<Bitfield> {
  const existed = await store.prepareAll();
  const candidates = new Bitfield(manifest.pieces.length);
  let start = 0;
  const starts = manifest.files.map((f) => {
    const s = start;
    start += f.length;
    return s;
  });
  for (const file of existed) {
    const length = manifest.files[file]!.length;
    if (length === 0) continue;
    const first = Math.floor(starts[file]! / manifest.pieceLength);
    const last = Math.floor((starts[file]! + length - 1) / manifest.pieceLength);
    for (let i = first; i <= last; i++) candidates.set(i);
  }
  if (candidates.count === 0) return candidates;
  return verifyStoredPieces(
    manifest,
    {
      read: (index, begin, length) =>
        candidates.has(index) ? store.read(index, begin, length) : Promise.reject(new Error('not on disk')),
    },
    {
      hash: sha256Hex,
      onProgress: (done, total) =>
        out.status(`checking what is already in ${outDir} ${bar(done / total)}`, { done, total }, 'checking'),
    },
  );
}

/** A failure to prepare the files, as the error `get` ends with (`ERR_UNSAFE_PATH` as is, the rest `ERR_STORAGE`). */
function storageFailure(err: unknown): RingswarmError {
  if (err instanceof RingswarmError) return err;
  return new RingswarmError(ErrorCode.STORAGE, `preparing the files failed: ${(err as Error)?.message ?? err}`);
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
  let failed: (err: RingswarmError) => void = () => {};
  const failure = new Promise<RingswarmError>((resolve) => {
    failed = resolve;
  });
  try {
    let swarm: Swarm;
    let resumed = 0;
    const reportResume = (have: Bitfield) => {
      resumed = have.count;
      out.event(
        'resume',
        { pieces: have.count, of: have.length },
        `Resuming: ${have.count} of ${have.length} pieces already here.`,
      );
    };
    if (saved) {
      const store = new FsPieceStore(saved, { dir: outDir });
      let have: Bitfield;
      try {
        have = await checkOnDisk(saved, store, out, outDir);
      } catch (err) {
        store.destroy();
        const error = storageFailure(err);
        out.error(error.code, error.message);
        return 1;
      }
      reportResume(have);
      swarm = client.download(link.infoHash, store, { manifest: saved, have, mode: link.mode });
    } else {
      const deferred = new DeferredPieceStore();
      swarm = client.download(link.infoHash, deferred, { mode: link.mode });
      const fetching = swarm;
      fetching.once('metadata', (manifest) => {
        // Nothing is fetched until what is already on disk is checked (an earlier run whose
        // resume data was lost, or files of the same names).
        fetching.setWanted(new Bitfield(manifest.pieces.length));
        const store = new FsPieceStore(manifest, { dir: outDir });
        deferred.attach(store);
        out.event(
          'metadata',
          { name: manifest.name, length: manifest.length, files: manifest.files.length },
          `Downloading ${manifest.name} (${formatBytes(manifest.length)}, ${plural(manifest.files.length, 'file')}) into ${outDir}`,
        );
        void checkOnDisk(manifest, store, out, outDir).then(
          async (have) => {
            if (have.count > 0) reportResume(have);
            // Kept before the first piece is fetched, so that a run stopped at any point resumes.
            await saveResumeManifest(outDir, statePath, manifest, out);
            if (fetching.destroyed) return;
            fetching.addHeld(have);
            fetching.setWanted(null);
          },
          (err: unknown) => failed(storageFailure(err)),
        );
      });
    }
    reportConnections(client, swarm, out);
    const stopWatching = watch(swarm, out);
    watchRing(client, out);
    const started = Date.now();
    const outcome = await Promise.race([downloadOutcome(client, swarm), failure]);
    stopWatching();
    if (
      outcome instanceof RingswarmError &&
      (outcome.code === ErrorCode.NO_ROUTE ||
        outcome.code === ErrorCode.BLOCKED ||
        outcome.code === ErrorCode.UNSAFE_PATH)
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
