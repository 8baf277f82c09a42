/**
 * The ringswarm page: pick or drop files or a folder to share them (privately by link, or
 * listed publicly by name); open a share link to download them from the browsers that have
 * them (into OPFS, or IndexedDB on plain HTTP; resumable), then keep serving; find public
 * shares by file name.
 * This file wires the parts: the client (client-setup.ts), the share view (share-view.ts),
 * the search box (search-view.ts), the key lookup drawn on the ring (lookup-view.ts,
 * panels/lookup-trace.ts), storage (storage.ts), the download view (download-view.ts)
 * and its report form (report.ts).
 */
// First: zod must know before any schema runs that the page's CSP forbids eval.
import './no-eval.js';
import { type DiscoveryMode, describePair, formatBytes, type Manifest, parseShareLink } from '@ringswarm/shared';
import { ClientSetup } from './client-setup.js';
import { badgeOf, noRouteAdvice } from './connection-badge.js';
import { $ } from './dom.js';
import { DownloadView, type Status } from './download-view.js';
import { LookupView } from './lookup-view.js';
import { LookupTrace } from './panels/lookup-trace.js';
import { connectionLabel } from './panels/peers.js';
import { RingPanel } from './panels/ring.js';
import { SeedingPanel } from './panels/seeding.js';
import { showPlainHttpNote } from './plain-http.js';
import { ReportForm } from './report.js';
import { SearchView } from './search-view.js';
import { openedByShareTarget, takeSharedFiles } from './share-target.js';
import { ShareView } from './share-view.js';
import { checkQuota, isKeptStore, openStorage, removeKept, resumedBytesOf, saveKeptManifest } from './storage.js';
import { StreamServer } from './stream-server.js';
import './style.css';
import { initTheme } from './theme.js';
import { Views } from './views.js';

initTheme($<HTMLButtonElement>('theme-toggle'));
const views = new Views();
/** Answers the service worker's stream URLs from this page's download (play while downloading). */
const streamServer = new StreamServer();

const ui = {
  status: $('status'),
  networkNote: $('network-note'),
  storageNote: $('storage-note'),
  shareSection: $('share-section'),
  downloadSection: $('download-section'),
  downloadName: $('download-name'),
};

const setStatus: Status = (text, kind = 'info') => {
  ui.status.textContent = text;
  ui.status.dataset.kind = kind;
};

const ringSvg = document.getElementById('ring-svg');
if (!(ringSvg instanceof SVGSVGElement)) throw new Error('missing #ring-svg');
const ring = new RingPanel($('ring-section'), ringSvg, $('ring-figures'));
const lookupTrace = new LookupTrace(ring.lookupLayer, {
  box: $('lookup-trace'),
  summary: $('lookup-summary'),
  list: $<HTMLOListElement>('lookup-hops'),
});

/** STUN/TURN servers the server offered, for explaining an ICE failure. */
let iceServerCount = 0;
/** Swarms the tracker refused to announce (ERR_BLOCKED), for views made after the refusal. */
const blocked = new Set<string>();
/** The download view of this page's download, once it exists. */
let downloadView: DownloadView | null = null;

const setup = new ClientSetup({
  onIce: (ice) => {
    iceServerCount = ice.iceServers.length;
    if (ice.iceServers.length > 0) return;
    ui.networkNote.hidden = false;
    ui.networkNote.textContent =
      ice.reason === 'none'
        ? 'No STUN/TURN configured: only peers on the same network can connect.'
        : 'Could not get STUN/TURN servers from the server: only peers on the same network can connect.';
  },
  onDisconnect: () => setStatus('Lost the tracker connection; reconnecting…', 'error'),
  onNoRoute: () => {
    ui.networkNote.hidden = false;
    ui.networkNote.dataset.kind = 'no-route';
    ui.networkNote.textContent = noRouteAdvice(iceServerCount);
  },
  onBlocked: (infoHash) => {
    blocked.add(infoHash);
    shareView.blocked(infoHash);
    if (setup.download?.infoHash === infoHash) downloadView?.blocked();
  },
  onTick: (c) => {
    seeding.render(c);
    ring.render(c.ringStats());
  },
});

const seeding = new SeedingPanel($('seeding-section'), $<HTMLTableElement>('seeding-table'), (swarm) => {
  const name = swarm.manifest?.name ?? swarm.infoHash.slice(0, 12);
  const client = setup.current;
  client?.remove(swarm.infoHash);
  seeding.render(client);
  setStatus(
    setup.download?.infoHash === swarm.infoHash
      ? `Stopped sharing ${name}. Its verified pieces stay in this browser; open the link again to go on.`
      : `Stopped sharing ${name}.`,
    'ok',
  );
});

const shareView = new ShareView({
  getClient: () => setup.get(),
  status: setStatus,
  onShared: (c) => seeding.render(c),
  isBlocked: (infoHash) => blocked.has(infoHash),
});

new SearchView({ current: () => setup.current, onLookup: (what, overlay) => lookupTrace.begin(what, overlay) });
new LookupView({ current: () => setup.current, trace: lookupTrace });

function showManifestName(manifest: Manifest): void {
  ui.downloadName.textContent = `${manifest.name} (${formatBytes(manifest.length)})`;
}

async function download(infoHash: string, mode: DiscoveryMode): Promise<void> {
  ui.shareSection.hidden = true;
  views.show('files');
  ui.downloadSection.hidden = false;
  ui.downloadName.textContent = `Share ${infoHash.slice(0, 12)}…`;
  new ReportForm(infoHash);
  setStatus('Looking for peers that have this…');
  const progress = $<HTMLProgressElement>('download-progress');
  const [c, storage] = await Promise.all([
    setup.get(),
    openStorage(infoHash, {
      status: setStatus,
      note: (text) => {
        ui.storageNote.hidden = false;
        ui.storageNote.textContent = text;
      },
      onManifest: showManifestName,
      onVerify: (done, total) => {
        progress.value = total === 0 ? 1 : done / total;
      },
    }),
  ]);
  const { store, options, resumed } = storage;
  const swarm = c.download(infoHash, store, { ...options, mode });
  const resumedBytes = options.manifest && resumed ? resumedBytesOf(options.manifest, resumed) : 0;
  setup.setDownload({
    infoHash,
    swarm,
    storage: storage.kind,
    resumedPieces: resumed?.count ?? 0,
    resumedBytes,
  });
  if (resumed && resumed.count > 0) {
    const count = resumed.count;
    setStatus(`Resuming: ${count} verified piece${count === 1 ? ' was' : 's were'} already in this browser.`);
  } else {
    setStatus('Looking for peers that have this…');
  }
  const view = new DownloadView(swarm, store, {
    resumed,
    blocked: blocked.has(infoHash),
    streams: streamServer,
    typeOf: async (remoteId) => {
      const pair = await c.connectionInfo(remoteId);
      return pair ? { label: connectionLabel(pair), detail: describePair(pair), badge: badgeOf(pair) } : null;
    },
    status: setStatus,
    onDelete: () => {
      c.remove(infoHash);
      if (!isKeptStore(store)) return;
      void removeKept(store).then(() => {
        ui.downloadName.textContent = '';
        setStatus('Deleted from this browser. Open the link again to download it anew.', 'ok');
      });
    },
  });
  downloadView = view;
  const onManifest = (manifest: Manifest) => {
    if (isKeptStore(store) && !options.manifest) {
      saveKeptManifest(store, manifest).catch((err: Error) => console.warn('ringswarm: manifest not kept:', err));
    }
    void checkQuota(manifest, view.bytesLeft(manifest), setStatus);
  };
  if (swarm.manifest) onManifest(swarm.manifest);
  else swarm.once('metadata', onManifest);
  swarm.on('error', (err) => {
    const quota = isKeptStore(store) && store.lastError?.name === 'QuotaExceededError';
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

showPlainHttpNote($('http-note'), $<HTMLButtonElement>('http-note-dismiss'));
if (typeof RTCPeerConnection === 'undefined') {
  setStatus(
    'This browser has no WebRTC, which ringswarm needs to reach other browsers. Try a current Chrome, Firefox, Edge or Safari (and check that no extension or setting turns WebRTC off).',
    'error',
  );
  shareView.disable();
} else {
  // The page joins the tracker and the ring right away: it helps route signals and hold DHT
  // records for others while it is open, and a download or share starts without that delay.
  setup.get().catch((err: Error) => setStatus(`Could not start: ${err.message}`, 'error'));
  route();
  window.addEventListener('hashchange', () => window.location.reload());
  if (openedByShareTarget(window.location)) {
    takeSharedFiles().then(
      (picked) =>
        picked.length > 0
          ? shareView.share(picked)
          : setStatus('Nothing came with what was shared to ringswarm: choose the files here instead.', 'error'),
      (err: Error) => setStatus(`Could not read what was shared to ringswarm: ${err.message}`, 'error'),
    );
  }
}
// The installable app and its offline page shell (secure contexts only; not in `npm run dev`).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((err: Error) => console.warn('ringswarm: no service worker:', err));
}
// On pagehide, not beforeunload: closing may still be called off (activity.ts asks first
// while this tab holds the only complete copy someone is fetching).
window.addEventListener('pagehide', () => {
  streamServer.destroy();
  setup.destroy();
});
// Back from the back-forward cache, the client is gone: start afresh.
window.addEventListener('pageshow', (event) => {
  if (event.persisted) window.location.reload();
});
