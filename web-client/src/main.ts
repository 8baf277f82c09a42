/**
 * The ringswarm page: pick or drop files or a folder to share them; open a share link to
 * download them from the browsers that have them (into OPFS, resumable), then keep serving.
 */
import {
  Bitfield,
  type DiscoveryMode,
  describePair,
  formatBytes,
  formatRate,
  formatShareLink,
  type Manifest,
  MemoryPieceStore,
  type PieceStore,
  parseShareLink,
  plural,
  RingswarmClient,
  randomBytes,
  refreshDelayMs,
  type Swarm,
  type SwarmCreateOptions,
  toHex,
} from '@ringswarm/shared';
import QRCode from 'qrcode';
import { $ } from './dom.js';
import { DownloadView, STATS_INTERVAL_MS, type Status } from './download-view.js';
import { loadIceServers } from './ice.js';
import { loadManifest, OpfsPieceStore, opfsAvailable, removeDownload, saveManifest } from './opfs-store.js';
import { connectionLabel } from './panels/peers.js';
import { RingPanel } from './panels/ring.js';
import { SeedingPanel } from './panels/seeding.js';
import { type PickedFile, pickedFromDrop, pickedFromInput, prepareFiles } from './share.js';
import { worker } from './worker-client.js';
import './style.css';

const ui = {
  status: $('status'),
  networkNote: $('network-note'),
  storageNote: $('storage-note'),
  shareSection: $('share-section'),
  dropZone: $('drop-zone'),
  fileInput: $<HTMLInputElement>('file-input'),
  folderInput: $<HTMLInputElement>('folder-input'),
  hashing: $('hashing'),
  hashName: $('hash-name'),
  hashProgress: $<HTMLProgressElement>('hash-progress'),
  hashDetail: $('hash-detail'),
  shared: $('shared'),
  shareLink: $<HTMLInputElement>('share-link'),
  copyLink: $<HTMLButtonElement>('copy-link'),
  nativeShare: $<HTMLButtonElement>('native-share'),
  shareQr: $('share-qr'),
  seedStats: $('seed-stats'),
  downloadSection: $('download-section'),
  downloadName: $('download-name'),
};

const setStatus: Status = (text, kind = 'info') => {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
};

/** What the page exposes for debugging from the console, and for tests and benchmarks. */
export interface PageHandle {
  client: RingswarmClient;
  /** The download this page opened, once it has started. */
  download?: {
    infoHash: string;
    swarm: Swarm;
    /** Where pieces are kept: OPFS, or memory where the browser has no OPFS. */
    storage: 'opfs' | 'memory';
    /** Pieces found in this browser and verified again before the download started. */
    resumedPieces: number;
    resumedBytes: number;
  };
}

declare global {
  interface Window {
    ringswarm?: PageHandle;
  }
}

let clientPromise: Promise<RingswarmClient> | null = null;
let client: RingswarmClient | null = null;

const seeding = new SeedingPanel($('seeding-section'), $<HTMLTableElement>('seeding-table'), (swarm) => {
  const name = swarm.manifest?.name ?? swarm.infoHash.slice(0, 12);
  client?.remove(swarm.infoHash);
  seeding.render(client);
  setStatus(
    window.ringswarm?.download?.infoHash === swarm.infoHash
      ? `Stopped sharing ${name}. Its verified pieces stay in this browser; open the link again to go on.`
      : `Stopped sharing ${name}.`,
    'ok',
  );
});

const ringSvg = document.getElementById('ring-svg');
if (!(ringSvg instanceof SVGSVGElement)) throw new Error('missing #ring-svg');
const ring = new RingPanel($('ring-section'), ringSvg, $('ring-figures'));

/** Creates the client once, after asking the server for STUN/TURN servers. */
function getClient(): Promise<RingswarmClient> {
  clientPromise ??= (async () => {
    const peerId = toHex(randomBytes(20));
    const ice = await loadIceServers(peerId);
    if (ice.iceServers.length === 0) {
      ui.networkNote.hidden = false;
      ui.networkNote.textContent =
        ice.reason === 'none'
          ? 'No STUN/TURN configured: only peers on the same network can connect.'
          : 'Could not get STUN/TURN servers from the server: only peers on the same network can connect.';
    }
    const c = new RingswarmClient({ trackerUrl: window.location.origin, peerId, iceServers: ice.iceServers });
    client = c;
    window.ringswarm = { client: c };
    c.on('warning', (err) => console.warn('ringswarm:', err.message));
    // TURN credentials expire: fetch fresh ones before they do, for new connections.
    if (ice.ttl > 0) {
      const renew = async () => {
        const fresh = await loadIceServers(peerId);
        if (fresh.reason === 'ok') c.setIceServers(fresh.iceServers);
        setTimeout(() => void renew(), refreshDelayMs(fresh.ttl > 0 ? fresh.ttl : ice.ttl));
      };
      setTimeout(() => void renew(), refreshDelayMs(ice.ttl));
    }
    c.tracker.on('disconnect', () => setStatus('Lost the tracker connection; reconnecting…', 'error'));
    setInterval(() => {
      seeding.render(c);
      ring.render(c.ringStats());
    }, STATS_INTERVAL_MS);
    return c;
  })();
  return clientPromise;
}

// --- sharing -------------------------------------------------------------------------------

async function share(picked: PickedFile[]): Promise<void> {
  if (picked.length === 0) return;
  const total = picked.reduce((sum, p) => sum + p.file.size, 0);
  const label = picked.length === 1 ? picked[0]!.file.name : `${picked.length} files`;
  ui.dropZone.hidden = true;
  ui.hashing.hidden = false;
  ui.hashName.textContent = label;
  ui.hashProgress.value = 0;
  setStatus(`Hashing ${label} (${formatBytes(total)})…`);
  const started = performance.now();
  try {
    const [prepared, c] = await Promise.all([
      prepareFiles(picked, (done, count) => {
        const fraction = count === 0 ? 1 : done / count;
        ui.hashProgress.value = fraction;
        const seconds = (performance.now() - started) / 1000;
        ui.hashDetail.textContent = `${formatBytes(fraction * total)} of ${formatBytes(total)} · ${formatRate(
          seconds > 0 ? (fraction * total) / seconds : 0,
        )}`;
      }),
      getClient(),
    ]);
    const swarm = await c.seed(prepared.manifest, prepared.store, prepared.have);
    ui.hashing.hidden = true;
    ui.dropZone.hidden = false;
    ui.shared.hidden = false;
    ui.shareLink.value = formatShareLink(window.location.origin, swarm.infoHash);
    void showQrCode(ui.shareLink.value);
    ui.nativeShare.hidden = typeof navigator.share !== 'function';
    const count = prepared.manifest.files.length;
    const what = count === 1 || prepared.manifest.name === `${count} files` ? '' : ` (${count} files)`;
    setStatus(`Sharing ${prepared.manifest.name}${what}. Send the link to whoever should get it.`, 'ok');
    trackSeeding(swarm);
    seeding.render(c);
  } catch (err) {
    ui.hashing.hidden = true;
    ui.dropZone.hidden = false;
    setStatus(`Could not share ${label}: ${(err as Error).message}`, 'error');
  }
}

function trackSeeding(swarm: Swarm): void {
  const render = () => {
    const s = swarm.stats();
    ui.seedStats.textContent = `${plural(s.peers, 'peer')} connected · ${formatBytes(s.uploaded)} uploaded`;
  };
  render();
  const timer = setInterval(render, STATS_INTERVAL_MS);
  swarm.on('close', () => {
    clearInterval(timer);
    ui.seedStats.textContent = 'Not shared any more.';
  });
}

for (const input of [ui.fileInput, ui.folderInput]) {
  input.addEventListener('change', () => {
    if (input.files && input.files.length > 0) void share(pickedFromInput(input.files));
    input.value = '';
  });
}

for (const type of ['dragenter', 'dragover'] as const) {
  ui.dropZone.addEventListener(type, (e) => {
    e.preventDefault();
    ui.dropZone.classList.add('over');
  });
}
ui.dropZone.addEventListener('dragleave', () => ui.dropZone.classList.remove('over'));
ui.dropZone.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.dropZone.classList.remove('over');
  if (!e.dataTransfer) return;
  pickedFromDrop(e.dataTransfer).then(
    (picked) => share(picked),
    (err: Error) => setStatus(`Could not read what was dropped: ${err.message}`, 'error'),
  );
});

/** Draws the link as a QR code (SVG, made by the qrcode library from our own link). */
async function showQrCode(link: string): Promise<void> {
  try {
    const svg = await QRCode.toString(link, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    ui.shareQr.replaceChildren(document.importNode(doc.documentElement, true));
  } catch {
    ui.shareQr.replaceChildren();
  }
}

ui.nativeShare.addEventListener('click', () => {
  navigator.share({ title: 'ringswarm', text: 'Download this from my browser:', url: ui.shareLink.value }).catch(() => {
    // The person closed the share sheet; nothing to do.
  });
});

ui.copyLink.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(ui.shareLink.value);
    ui.copyLink.textContent = 'Copied';
  } catch {
    ui.shareLink.select();
    ui.copyLink.textContent = 'Press Ctrl+C';
  }
  setTimeout(() => {
    ui.copyLink.textContent = 'Copy';
  }, 2_000);
});

// --- downloading ---------------------------------------------------------------------------

/** Opens the OPFS folder of a download and, when a verified manifest is kept there, re-verifies its pieces. */
async function openStorage(
  infoHash: string,
): Promise<{ store: PieceStore; options: SwarmCreateOptions; resumed: Bitfield | null }> {
  const memoryOnly = (why: string) => {
    ui.storageNote.hidden = false;
    ui.storageNote.textContent = `${why} The download is kept in memory: large files may not fit, and a reload starts over.`;
  };
  if (!opfsAvailable()) {
    memoryOnly('This browser has no origin private file system.');
    return { store: new MemoryPieceStore(), options: {}, resumed: null };
  }
  let store: OpfsPieceStore;
  try {
    store = await OpfsPieceStore.open(infoHash);
  } catch (err) {
    memoryOnly(`This browser refused file storage (${(err as Error).message}).`);
    return { store: new MemoryPieceStore(), options: {}, resumed: null };
  }
  // Ask the browser not to evict the pieces under storage pressure; it may say no.
  void navigator.storage.persist?.().catch(() => false);
  const manifest = await loadManifest(infoHash);
  if (!manifest) return { store, options: {}, resumed: null };
  showManifestName(manifest);
  setStatus(`Checking the pieces of ${manifest.name} already in this browser…`);
  const progress = $<HTMLProgressElement>('download-progress');
  const indexes = await worker.verify(infoHash, manifest, (done, total) => {
    progress.value = total === 0 ? 1 : done / total;
  });
  const have = new Bitfield(manifest.pieces.length);
  for (const i of indexes) have.set(i);
  const resumed = new Bitfield(have.length, have.bytes);
  return { store, options: { manifest, have }, resumed };
}

function showManifestName(manifest: Manifest): void {
  ui.downloadName.textContent = `${manifest.name} (${formatBytes(manifest.length)})`;
}

/** Warns before the download fills the storage the browser grants this page. */
async function checkQuota(view: DownloadView, manifest: Manifest): Promise<void> {
  const estimate = await navigator.storage?.estimate?.().catch(() => null);
  if (!estimate?.quota) return;
  const free = estimate.quota - (estimate.usage ?? 0);
  const needed = view.bytesLeft(manifest);
  if (needed > free) {
    setStatus(
      `Not enough storage: ${manifest.name} needs ${formatBytes(needed)} more, but this browser lets the page store only ${formatBytes(free)}. Free some disk space or delete other downloads, then reload.`,
      'error',
    );
  }
}

async function download(infoHash: string, mode: DiscoveryMode): Promise<void> {
  ui.shareSection.hidden = true;
  ui.downloadSection.hidden = false;
  ui.downloadName.textContent = `Share ${infoHash.slice(0, 12)}…`;
  setStatus('Looking for peers that have this…');
  const [c, storage] = await Promise.all([getClient(), openStorage(infoHash)]);
  const { store, options, resumed } = storage;
  const swarm = c.download(infoHash, store, { ...options, mode });
  const resumedBytes = options.manifest && resumed ? resumedBytesOf(options.manifest, resumed) : 0;
  window.ringswarm = {
    client: c,
    download: {
      infoHash,
      swarm,
      storage: store instanceof OpfsPieceStore ? 'opfs' : 'memory',
      resumedPieces: resumed?.count ?? 0,
      resumedBytes,
    },
  };
  if (resumed && resumed.count > 0) {
    const count = resumed.count;
    setStatus(`Resuming: ${count} verified piece${count === 1 ? ' was' : 's were'} already in this browser.`);
  } else {
    setStatus('Looking for peers that have this…');
  }
  const view = new DownloadView(swarm, store, {
    resumed,
    typeOf: async (remoteId) => {
      const pair = await c.connectionInfo(remoteId);
      return pair ? { label: connectionLabel(pair), detail: describePair(pair) } : null;
    },
    status: setStatus,
    onDelete: () => {
      c.remove(infoHash);
      void removeDownload(infoHash).then(() => {
        ui.downloadName.textContent = '';
        setStatus('Deleted from this browser. Open the link again to download it anew.', 'ok');
      });
    },
  });
  const onManifest = (manifest: Manifest) => {
    if (store instanceof OpfsPieceStore && !options.manifest) {
      saveManifest(infoHash, manifest).catch((err: Error) => console.warn('ringswarm: manifest not kept:', err));
    }
    void checkQuota(view, manifest);
  };
  if (swarm.manifest) onManifest(swarm.manifest);
  else swarm.once('metadata', onManifest);
  swarm.on('error', (err) => {
    const quota = store instanceof OpfsPieceStore && store.lastError?.name === 'QuotaExceededError';
    // Nothing more can be stored: stop fetching pieces that would only be refused again
    // (ticking files in the list asks for them again).
    if (quota) view.stopFetching();
    setStatus(
      quota
        ? 'Storage quota exceeded: the browser will not let this page store more. Free some disk space or delete other downloads, then reload to go on from the verified pieces.'
        : `This browser could not store the download: ${err.message}`,
      'error',
    );
  });
  seeding.render(c);
}

function resumedBytesOf(manifest: Manifest, have: Bitfield): number {
  let bytes = 0;
  for (let i = 0; i < have.length; i++) {
    if (have.has(i)) bytes += Math.min(manifest.pieceLength, manifest.length - i * manifest.pieceLength);
  }
  return bytes;
}

// --- start ---------------------------------------------------------------------------------

function route(): void {
  if (window.location.hash.length <= 1) return;
  let link: ReturnType<typeof parseShareLink>;
  try {
    link = parseShareLink(window.location.href);
  } catch (err) {
    ui.shareSection.hidden = true;
    setStatus(`This link is malformed: ${(err as Error).message}. Ask for the link again.`, 'error');
    return;
  }
  download(link.infoHash, link.mode).catch((err: Error) =>
    setStatus(`Could not start the download: ${err.message}`, 'error'),
  );
}

function disableSharing(): void {
  ui.fileInput.disabled = true;
  ui.folderInput.disabled = true;
}

if (typeof RTCPeerConnection === 'undefined') {
  setStatus(
    'This browser has no WebRTC, which ringswarm needs to reach other browsers. Try a current Chrome, Firefox, Edge or Safari (and check that no extension or setting turns WebRTC off).',
    'error',
  );
  disableSharing();
} else if (!globalThis.crypto?.subtle) {
  // WebCrypto exists only in secure contexts: HTTPS, or http://localhost.
  setStatus('ringswarm needs a secure page to hash files: open it over HTTPS or on http://localhost.', 'error');
  disableSharing();
} else {
  // The page joins the tracker and the ring right away: it helps route signals and hold DHT
  // records for others while it is open, and a download or share starts without that delay.
  getClient().catch((err: Error) => setStatus(`Could not start: ${err.message}`, 'error'));
  route();
  window.addEventListener('hashchange', () => window.location.reload());
}
window.addEventListener('beforeunload', () => client?.destroy());
