/**
 * `ringswarm seed <file|folder>`: hashes the files where they are, prints the link, seeds until
 * stopped. Private unless --public: then the names are published in the ring for search.
 */
import {
  Bitfield,
  choosePieceLength,
  createManifest,
  type DiscoveryMode,
  formatBytes,
  formatShareLink,
  hashPieces,
  infoHashOf,
  plural,
} from '@ringswarm/shared';
import QRCode from 'qrcode';
import { listFiles } from '../files.js';
import { FsPieceStore } from '../fs-piece-store.js';
import { bar, type Output } from '../output.js';
import {
  type PeerOptions,
  reportConnections,
  STATUS_INTERVAL_MS,
  startPeer,
  untilStopped,
  watch,
  watchRing,
} from './common.js';

export interface SeedRequest {
  /** The file or folder to share. */
  target: string;
  /** The name the share goes by (default: the file or folder name). */
  name?: string | undefined;
  /** 'tracker' (the default link) or 'dht' (a trackerless link, found through the ring). */
  mode: DiscoveryMode;
  /** List the share publicly (--public): its names go into the ring, for `ringswarm search`. */
  public: boolean;
}

export async function seed(request: SeedRequest, options: PeerOptions, out: Output): Promise<number> {
  const { name: shareName, files } = await listFiles(request.target, request.name);
  const layout = {
    files: files.map((f) => ({ path: f.path, length: f.length })),
    length: files.reduce((sum, f) => sum + f.length, 0),
    pieceLength: 0,
  };
  layout.pieceLength = choosePieceLength(layout.length);
  const store = new FsPieceStore(layout, { dir: '.', mode: 'read', diskPaths: files.map((f) => f.disk) });
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
  const link = formatShareLink(options.tracker, infoHash, request.mode);
  const qr = options.json ? '' : await QRCode.toString(link, { type: 'terminal', small: true });
  out.event(
    'seeding',
    {
      link,
      infoHash,
      name: shareName,
      length: manifest.length,
      files: manifest.files.length,
      public: request.public,
    },
    `Sharing ${shareName} (${formatBytes(manifest.length)}, ${plural(manifest.files.length, 'file')}).\n${qr}\nShare link: ${link}\n${
      request.public
        ? 'Listed publicly: anyone can find it by name with `ringswarm search`.'
        : 'Private: only people you give the link to can find it.'
    }\nSeeding until Ctrl-C.`,
  );
  const peer = await startPeer(options.tracker, options, out);
  const { client } = peer;
  let stopWatching = () => {};
  try {
    const swarm = await client.seed(manifest, store, Bitfield.full(pieces.length), {
      mode: request.mode,
      public: request.public,
    });
    reportConnections(client, swarm, out);
    stopWatching = watch(swarm, out);
    watchRing(client, out);
    const signal = await untilStopped();
    stopWatching();
    out.event('stopped', { signal }, `\nStopped (${signal}).`);
    return 0;
  } finally {
    stopWatching();
    peer.stop();
  }
}
