/**
 * The ringswarm page: pick or drop a file to share it; open a share link to download it
 * from the browsers that have it, then keep serving it.
 */
import {
  formatBytes,
  formatDuration,
  formatRate,
  formatShareLink,
  type Manifest,
  parseShareLink,
  RingswarmClient,
  readAllPieces,
  type Swarm,
} from '@ringswarm/shared';

import QRCode from 'qrcode';
import { prepareFile } from './share.js';
import './style.css';

/** How often the stats lines are refreshed. */
const STATS_INTERVAL_MS = 1_000;

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

const ui = {
  status: $('status'),
  shareSection: $('share-section'),
  dropZone: $('drop-zone'),
  fileInput: $<HTMLInputElement>('file-input'),
  hashing: $('hashing'),
  hashName: $('hash-name'),
  hashProgress: $<HTMLProgressElement>('hash-progress'),
  shared: $('shared'),
  shareLink: $<HTMLInputElement>('share-link'),
  copyLink: $<HTMLButtonElement>('copy-link'),
  nativeShare: $<HTMLButtonElement>('native-share'),
  shareQr: $('share-qr'),
  seedStats: $('seed-stats'),
  downloadSection: $('download-section'),
  downloadName: $('download-name'),
  downloadProgress: $<HTMLProgressElement>('download-progress'),
  downloadStats: $('download-stats'),
  saveLinks: $<HTMLUListElement>('save-links'),
};

function setStatus(text: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
}

let client: RingswarmClient | null = null;

declare global {
  interface Window {
    /** The page's client, for debugging from the console (and benchmarks): e.g. setRateLimits. */
    ringswarm?: { client: RingswarmClient };
  }
}

function getClient(): RingswarmClient {
  if (!client) {
    client = new RingswarmClient({ trackerUrl: window.location.origin });
    window.ringswarm = { client };
    client.on('warning', (err) => console.warn('ringswarm:', err.message));
    client.tracker.on('disconnect', () => setStatus('Lost the tracker connection; reconnecting…', 'error'));
  }
  return client;
}

// --- sharing -------------------------------------------------------------------------------

async function share(file: File): Promise<void> {
  ui.dropZone.hidden = true;
  ui.hashing.hidden = false;
  ui.hashName.textContent = file.name;
  setStatus(`Hashing ${file.name} (${formatBytes(file.size)})…`);
  try {
    const prepared = await prepareFile(file, (done, total) => {
      ui.hashProgress.value = total === 0 ? 1 : done / total;
    });
    const swarm = await getClient().seed(prepared.manifest, prepared.store, prepared.have);
    ui.hashing.hidden = true;
    ui.shared.hidden = false;
    ui.shareLink.value = formatShareLink(window.location.origin, swarm.infoHash);
    void showQrCode(ui.shareLink.value);
    ui.nativeShare.hidden = typeof navigator.share !== 'function';
    setStatus(`Sharing ${prepared.manifest.name}. Send the link to whoever should get it.`, 'ok');
    trackSeeding(swarm);
  } catch (err) {
    ui.hashing.hidden = true;
    ui.dropZone.hidden = false;
    setStatus(`Could not share ${file.name}: ${(err as Error).message}`, 'error');
  }
}

function trackSeeding(swarm: Swarm): void {
  const render = () => {
    const s = swarm.stats();
    ui.seedStats.textContent = `${s.peers} peer${s.peers === 1 ? '' : 's'} connected · ${formatBytes(s.uploaded)} uploaded`;
  };
  render();
  const timer = setInterval(render, STATS_INTERVAL_MS);
  swarm.on('close', () => clearInterval(timer));
}

ui.fileInput.addEventListener('change', () => {
  const file = ui.fileInput.files?.[0];
  if (file) void share(file);
});

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
  const file = e.dataTransfer?.files[0];
  if (file) void share(file);
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
  navigator
    .share({ title: 'ringswarm', text: 'Download this file from my browser:', url: ui.shareLink.value })
    .catch(() => {
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

function download(infoHash: string): void {
  ui.shareSection.hidden = true;
  ui.downloadSection.hidden = false;
  ui.downloadName.textContent = `File ${infoHash.slice(0, 12)}…`;
  setStatus('Looking for peers that have this file…');
  const swarm = getClient().download(infoHash);

  const render = () => {
    const s = swarm.stats();
    const peers = `${s.peers} peer${s.peers === 1 ? '' : 's'}`;
    if (s.length === null) {
      ui.downloadStats.textContent = `${peers} connected`;
      return;
    }
    ui.downloadProgress.value = s.length === 0 ? 1 : s.have / s.length;
    ui.downloadStats.textContent = s.done
      ? `${formatBytes(s.length)} · ${peers} · ${formatBytes(s.uploaded)} uploaded`
      : `${formatBytes(s.have)} of ${formatBytes(s.length)} · ${formatRate(s.downloadRate)} · ` +
        `ETA ${formatDuration(s.eta ?? Number.POSITIVE_INFINITY)} · ${peers}`;
  };
  // Pieces arrive by the thousand; draw at most once per frame.
  let frame = 0;
  const renderSoon = () => {
    if (frame === 0) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        render();
      });
    }
  };
  const timer = setInterval(render, STATS_INTERVAL_MS);
  swarm.on('close', () => {
    clearInterval(timer);
    cancelAnimationFrame(frame);
  });

  swarm.on('peer', () => {
    if (!swarm.manifest) setStatus('Connected to a peer; fetching the file description…');
  });
  swarm.on('metadata', (manifest) => {
    ui.downloadName.textContent = `${manifest.name} (${formatBytes(manifest.length)})`;
    setStatus(`Downloading ${manifest.name}…`);
  });
  swarm.on('progress', renderSoon);
  swarm.on('error', (err) => setStatus(`This browser could not store the download: ${err.message}`, 'error'));
  swarm.on('peer-closed', () => {
    if (swarm.peerIds.length === 0 && !swarm.done) setStatus('All peers left; waiting for someone who has the file…');
  });
  swarm.on('done', () => {
    render();
    const manifest = swarm.manifest;
    if (!manifest) return;
    void offerSave(swarm, manifest).then(
      () => setStatus(`Done: ${manifest.name} downloaded and verified. This tab now helps share it.`, 'ok'),
      (err: Error) => setStatus(`Could not assemble the file: ${err.message}`, 'error'),
    );
  });
}

async function offerSave(swarm: Swarm, manifest: Manifest): Promise<void> {
  const whole = new Blob((await readAllPieces(manifest, swarm.store)) as BlobPart[]);
  ui.saveLinks.replaceChildren();
  let offset = 0;
  for (const file of manifest.files) {
    const blob = whole.slice(offset, offset + file.length, 'application/octet-stream');
    offset += file.length;
    const name = file.path.split('/').pop() ?? manifest.name;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.className = 'button save-link';
    a.textContent = `Save ${name}`;
    const li = document.createElement('li');
    li.append(a);
    ui.saveLinks.append(li);
  }
}

// --- start ---------------------------------------------------------------------------------

function route(): void {
  if (window.location.hash.length <= 1) return;
  try {
    download(parseShareLink(window.location.href).infoHash);
  } catch (err) {
    setStatus(`This link is malformed: ${(err as Error).message}. Ask for the link again.`, 'error');
  }
}

if (typeof RTCPeerConnection === 'undefined') {
  setStatus(
    'This browser has no WebRTC, which ringswarm needs. Try a current Chrome, Firefox, Edge or Safari.',
    'error',
  );
  ui.fileInput.disabled = true;
} else if (!globalThis.crypto?.subtle) {
  // WebCrypto exists only in secure contexts: HTTPS, or http://localhost.
  setStatus('ringswarm needs a secure page to hash files: open it over HTTPS or on http://localhost.', 'error');
  ui.fileInput.disabled = true;
} else {
  route();
  window.addEventListener('hashchange', () => window.location.reload());
}
window.addEventListener('beforeunload', () => client?.destroy());
