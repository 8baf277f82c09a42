/**
 * The download page of one swarm: progress, speeds and chart, files to pick and save, piece
 * map and peers. Everything a peer sent (file names) goes into the page as text.
 */
import {
  Bitfield,
  filePieces,
  formatBytes,
  formatDuration,
  formatRate,
  type Manifest,
  type PieceStore,
  pieceSize,
  plural,
  type Swarm,
} from '@ringswarm/shared';
import { $, h, perFrame } from './dom.js';
import { type ConnectionTypeOf, PeersPanel } from './panels/peers.js';
import { PieceMap } from './panels/piece-map.js';
import { ratioOf } from './panels/seeding.js';
import { SpeedChart } from './panels/speed-chart.js';
import { canSaveToFolder, fileBlob, saveName, saveToFolder } from './save.js';
import { isKeptStore } from './storage.js';
import { canStream, mediaTypeOf, type StreamServer, streamUrl } from './stream-server.js';

/** How often figures, chart and peers are refreshed. */
export const STATS_INTERVAL_MS = 1_000;
/** With no peer after this long, the page says that nobody sharing the file is online yet. */
export const NO_PEERS_NOTICE_MS = 4_000;
/** How much of a text file its preview shows. */
export const TEXT_PREVIEW_BYTES = 16 * 1024;
/** What a player says where the page has no service worker. */
export const PLAY_AT_END_TEXT =
  'Playing before the download ends needs a service worker, which a page served over plain HTTP cannot have. It plays as soon as the file is complete.';

/** What the page says when the operator blocked a share (the tracker answered ERR_BLOCKED). */
export const BLOCKED_TEXT = 'The operator of this server has blocked this share.';

export type Status = (text: string, kind?: 'info' | 'error' | 'ok' | 'wait') => void;

export interface DownloadViewOptions {
  /** Pieces found in this browser and verified again before the download started (not shared with the swarm). */
  resumed: Bitfield | null;
  typeOf: ConnectionTypeOf | null;
  status: Status;
  /** Called when the person deletes the stored copy. */
  onDelete: () => void;
  /** The tracker already refused this share (ERR_BLOCKED) before the view existed. */
  blocked: boolean;
  /** Answers the service worker's stream requests for this download (play while downloading). */
  streams: StreamServer | null;
}

interface FileRow {
  index: number;
  path: string;
  /** Pieces of this file not yet held. */
  missing: Set<number>;
  checkbox: HTMLInputElement;
  state: HTMLElement;
  slot: HTMLElement;
  saved: boolean;
  /** The file's type for players and previews (stream-server.ts). */
  mime: string;
  /** Where its player or preview goes. */
  preview: HTMLElement;
  /** The person asked to play it before it was complete, on a page that cannot stream. */
  playWhenComplete: boolean;
  /** A preview of the verified file was made (or is being made). */
  previewed: boolean;
}

export class DownloadView {
  readonly #swarm: Swarm;
  readonly #store: PieceStore;
  readonly #options: DownloadViewOptions;
  #have: Bitfield | null = null;
  #files: FileRow[] = [];
  /** Fetching stopped because storage is full (see stopFetching). */
  #stopped = false;
  /** Piece index -> the files it belongs to. */
  #pieceFiles = new Map<number, number[]>();
  #urls: string[] = [];
  readonly #chart: SpeedChart;
  readonly #map: PieceMap;
  readonly #peers: PeersPanel;
  readonly #frame = perFrame(() => this.#renderProgress());
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #lonelyTimer: ReturnType<typeof setTimeout>;
  #everConnected = false;
  /** The tracker refused to announce this share (ERR_BLOCKED). */
  #blocked = false;
  readonly #resumedCount: number;
  #destroyed = false;

  constructor(swarm: Swarm, store: PieceStore, options: DownloadViewOptions) {
    this.#swarm = swarm;
    this.#store = store;
    this.#options = options;
    this.#resumedCount = options.resumed?.count ?? 0;
    this.#chart = new SpeedChart($('speed-chart'));
    this.#map = new PieceMap($<HTMLCanvasElement>('piece-map'));
    this.#peers = new PeersPanel(
      $<HTMLTableElement>('peers-table'),
      $('peers-empty'),
      $('connection-badge'),
      options.typeOf,
    );
    $('save-links').replaceChildren();
    $('delete-download').hidden = !isKeptStore(store);
    $('delete-download').onclick = () => options.onDelete();
    $('save-folder').onclick = () => void this.#saveFolder();
    $('download-blocked').hidden = true;
    if (options.blocked) this.blocked();
    options.streams?.add(swarm, store);

    swarm.on('metadata', (manifest) => this.#onManifest(manifest));
    swarm.on('piece', (index) => this.#onPiece(index));
    swarm.on('progress', () => this.#frame.request());
    swarm.on('peer', () => {
      this.#everConnected = true;
      if (!swarm.manifest) options.status('Connected to a peer; fetching the file description…');
      else if (!swarm.done) options.status(`Downloading ${swarm.manifest.name}…`);
    });
    swarm.on('peer-closed', () => {
      if (swarm.peerIds.length > 0 || swarm.done || this.#destroyed) return;
      options.status(
        'All peers have left. The pieces verified so far are kept; the download goes on when someone who has the file comes back.',
        'wait',
      );
    });
    swarm.on('done', () => this.#onDone());
    swarm.on('close', () => this.destroy());
    if (swarm.manifest) this.#onManifest(swarm.manifest);
    if (swarm.done) this.#onDone();
    this.#timer = setInterval(() => this.#tick(), STATS_INTERVAL_MS);
    this.#lonelyTimer = setTimeout(() => {
      if (this.#everConnected || this.#destroyed || this.#blocked || swarm.peerIds.length > 0) return;
      options.status(
        swarm.manifest && !swarm.done
          ? 'No one who has the rest of this file is online yet. Keep this tab open: the download goes on as soon as someone sharing it is back.'
          : 'No one sharing this file is online yet. Keep this tab open: the download starts as soon as someone who has it opens the link.',
        'wait',
      );
    }, NO_PEERS_NOTICE_MS);
    this.#tick();
  }

  /** The tracker refused to announce this share (ERR_BLOCKED): say so, here and in the progress line. */
  blocked(): void {
    if (this.#destroyed || this.#blocked) return;
    this.#blocked = true;
    const note = $('download-blocked');
    // Shown first, then filled: screen readers announce an alert's text as it appears.
    note.hidden = false;
    note.textContent = `${BLOCKED_TEXT} It is not announced on this server.`;
    this.#renderProgress();
  }

  get have(): Bitfield | null {
    return this.#have;
  }

  #onManifest(manifest: Manifest): void {
    if (this.#have) return;
    const resumed = this.#options.resumed;
    this.#have = resumed && resumed.length === manifest.pieces.length ? resumed : new Bitfield(manifest.pieces.length);
    $('download-name').textContent =
      `${manifest.name} (${formatBytes(manifest.length)}, ${plural(manifest.files.length, 'file')})`;
    this.#buildFiles(manifest);
    if (!this.#swarm.done) this.#options.status(`Downloading ${manifest.name}…`);
    this.#map.draw(this.#have);
    this.#frame.request();
  }

  #buildFiles(manifest: Manifest): void {
    const list = $('save-links');
    this.#files = manifest.files.map((file, index) => {
      const missing = new Set<number>();
      const range = filePieces(manifest, index);
      if (range) {
        for (let p = range.first; p <= range.last; p++) {
          if (!this.#have?.has(p)) missing.add(p);
          const owners = this.#pieceFiles.get(p);
          if (owners) owners.push(index);
          else this.#pieceFiles.set(p, [index]);
        }
      }
      const id = `file-${index}`;
      const checkbox = h('input', { type: 'checkbox', id, checked: true });
      const state = h('span', { class: 'file-state stats' });
      const slot = h('span', { class: 'file-save' });
      const label = h(
        'label',
        { for: id },
        h('span', { class: 'filename' }, file.path),
        ' ',
        h('span', { class: 'stats' }, formatBytes(file.length)),
      );
      checkbox.addEventListener('change', () => {
        this.#applyWanted(manifest);
        this.#refreshFile(row);
      });
      const mime = mediaTypeOf(file.path);
      const preview = h('div', { class: 'file-preview' });
      const item = h('li', { 'data-file': index }, checkbox, label, state, slot);
      const row: FileRow = {
        index,
        path: file.path,
        missing,
        checkbox,
        state,
        slot,
        saved: false,
        mime,
        preview,
        playWhenComplete: false,
        previewed: false,
      };
      if (isPlayable(mime)) {
        const play = h('button', { type: 'button', class: 'small play' }, 'Play');
        play.setAttribute('aria-label', `Play ${file.path}`);
        play.onclick = () => this.#play(row, play);
        item.append(play);
      }
      item.append(preview);
      list.append(item);
      return row;
    });
    $('save-folder').hidden = !canSaveToFolder();
    for (const row of this.#files) this.#refreshFile(row);
  }

  /** Storage is full: fetch nothing more, and say nothing is missing (ticking a file tries again). */
  stopFetching(): void {
    const manifest = this.#swarm.manifest;
    if (!manifest) return;
    this.#stopped = true;
    this.#swarm.setWanted(new Bitfield(manifest.pieces.length));
  }

  /** Tells the engine to fetch only the pieces of ticked files (all of them when all are ticked). */
  #applyWanted(manifest: Manifest): void {
    this.#stopped = false;
    if (this.#files.every((r) => r.checkbox.checked)) {
      this.#swarm.setWanted(null);
    } else {
      const wanted = new Bitfield(manifest.pieces.length);
      for (const row of this.#files) {
        if (!row.checkbox.checked) continue;
        const range = filePieces(manifest, row.index);
        if (range) for (let p = range.first; p <= range.last; p++) wanted.set(p);
      }
      this.#swarm.setWanted(wanted);
    }
    this.#checkWantedDone();
  }

  #checkWantedDone(): void {
    const manifest = this.#swarm.manifest;
    if (!manifest || this.#stopped || this.#swarm.done || !this.#swarm.wantedDone) return;
    this.#options.status('The ticked files are downloaded and verified. Tick more files to fetch them too.', 'ok');
  }

  #onPiece(index: number): void {
    this.#have?.set(index);
    for (const fileIndex of this.#pieceFiles.get(index) ?? []) {
      const row = this.#files[fileIndex];
      if (!row) continue;
      row.missing.delete(index);
      if (row.missing.size === 0) this.#refreshFile(row);
    }
    this.#checkWantedDone();
    this.#frame.request();
  }

  /** Shows a file's state; offers its save link once all its pieces are verified and it is ticked. */
  #refreshFile(row: FileRow): void {
    const manifest = this.#swarm.manifest;
    if (!manifest) return;
    const complete = row.missing.size === 0;
    row.state.textContent = complete ? 'verified' : row.checkbox.checked ? '' : 'not downloaded';
    if (complete && row.playWhenComplete) {
      row.playWhenComplete = false;
      void this.#playBlob(row);
    }
    if (complete && !row.previewed) void this.#showPreview(row);
    if (!complete || !row.checkbox.checked) {
      row.slot.replaceChildren();
      row.saved = false;
      return;
    }
    if (row.saved) return;
    row.saved = true;
    void fileBlob(this.#store, manifest, row.index).then(
      (blob) => {
        if (this.#destroyed || !row.saved) return;
        const url = URL.createObjectURL(blob);
        this.#urls.push(url);
        const name = saveName(row.path);
        const a = h('a', { href: url, download: name, class: 'button save-link' }, `Save ${name}`);
        row.slot.replaceChildren(a);
      },
      (err: Error) => {
        row.saved = false;
        this.#options.status(`Could not read ${row.path} back from storage: ${err.message}`, 'error');
      },
    );
  }

  /**
   * Opens a player for a video or audio file: streamed through the service worker while it
   * downloads (its pieces fetched first from the playhead on), or, on a page with no service
   * worker, from the stored file once it is complete. An unticked file is ticked.
   */
  #play(row: FileRow, button: HTMLButtonElement): void {
    const manifest = this.#swarm.manifest;
    if (!manifest) return;
    button.hidden = true;
    if (!row.checkbox.checked) {
      row.checkbox.checked = true;
      this.#applyWanted(manifest);
      this.#refreshFile(row);
    }
    if (canStream()) {
      this.#showPlayer(row, streamUrl(this.#swarm.infoHash, row.index, row.path));
    } else if (row.missing.size === 0) {
      void this.#playBlob(row);
    } else {
      row.playWhenComplete = true;
      row.preview.replaceChildren(h('p', { class: 'hint play-note' }, PLAY_AT_END_TEXT));
    }
  }

  async #playBlob(row: FileRow): Promise<void> {
    const url = await this.#typedUrl(row);
    if (url) this.#showPlayer(row, url);
  }

  #showPlayer(row: FileRow, src: string): void {
    const kind = row.mime.startsWith('video/') ? 'video' : 'audio';
    const player = h(kind, { controls: true, preload: 'auto', src, class: 'player' });
    player.setAttribute('aria-label', `${kind === 'video' ? 'Video' : 'Audio'}: ${row.path}`);
    if (kind === 'video') player.setAttribute('playsinline', '');
    player.addEventListener('error', () => {
      const reason =
        player.error?.code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED
          ? 'This browser cannot play this file.'
          : `Could not play it: ${player.error?.message || 'media error'}.`;
      row.preview.append(h('p', { class: 'hint' }, reason));
    });
    row.preview.replaceChildren(player);
    void player.play().catch(() => {
      // Autoplay refused (no gesture in this frame, or muted policy): the controls are there.
    });
  }

  /** A preview of a verified file: an image, the start of a text, a link to open a PDF. */
  async #showPreview(row: FileRow): Promise<void> {
    const manifest = this.#swarm.manifest;
    if (!manifest || !row.checkbox.checked) return;
    const { mime } = row;
    const isText = mime === 'text/plain';
    if (!mime.startsWith('image/') && !isText && mime !== 'application/pdf') return;
    row.previewed = true;
    try {
      if (isText) {
        const blob = await fileBlob(this.#store, manifest, row.index);
        const head = await blob.slice(0, TEXT_PREVIEW_BYTES).arrayBuffer();
        if (this.#destroyed) return;
        const text = new TextDecoder('utf-8').decode(head);
        const more =
          blob.size > TEXT_PREVIEW_BYTES
            ? `\n… (the first ${formatBytes(TEXT_PREVIEW_BYTES)} of ${formatBytes(blob.size)})`
            : '';
        const pre = h('pre', { class: 'text-preview', tabindex: 0 }, text + more);
        pre.setAttribute('aria-label', `Start of ${row.path}`);
        row.preview.replaceChildren(pre);
        return;
      }
      const url = await this.#typedUrl(row);
      if (!url) return;
      if (mime === 'application/pdf') {
        row.preview.replaceChildren(
          h(
            'a',
            { href: url, target: '_blank', rel: 'noopener', class: 'small' },
            `Open ${saveName(row.path)} in a new tab`,
          ),
        );
      } else {
        row.preview.replaceChildren(h('img', { src: url, alt: `Preview of ${row.path}`, class: 'image-preview' }));
      }
    } catch (err) {
      row.previewed = false;
      this.#options.status(`Could not read ${row.path} back from storage: ${(err as Error).message}`, 'error');
    }
  }

  /** A blob URL of the stored file with its media type (revoked when the view goes). */
  async #typedUrl(row: FileRow): Promise<string | null> {
    const manifest = this.#swarm.manifest;
    if (!manifest) return null;
    const blob = await fileBlob(this.#store, manifest, row.index);
    if (this.#destroyed) return null;
    const url = URL.createObjectURL(new Blob([blob], { type: row.mime }));
    this.#urls.push(url);
    return url;
  }

  async #saveFolder(): Promise<void> {
    const manifest = this.#swarm.manifest;
    if (!manifest) return;
    const chosen = this.#files.filter((r) => r.checkbox.checked && r.missing.size === 0);
    if (chosen.length === 0) {
      this.#options.status('No ticked file is complete yet.', 'info');
      return;
    }
    try {
      const count = await saveToFolder(
        chosen.map((r) => ({ path: r.path, blob: () => fileBlob(this.#store, manifest, r.index) })),
        (path) => this.#options.status(`Saving ${path}…`),
      );
      this.#options.status(`Saved ${plural(count, 'file')} to the folder you picked.`, 'ok');
    } catch (err) {
      if ((err as Error).name === 'AbortError') return; // the person closed the picker
      this.#options.status(`Could not save to that folder: ${(err as Error).message}`, 'error');
    }
  }

  #onDone(): void {
    const manifest = this.#swarm.manifest;
    this.#frame.request();
    if (!manifest) return;
    this.#options.status(`Done: ${manifest.name} downloaded and verified. This tab now helps share it.`, 'ok');
  }

  #renderProgress(): void {
    const s = this.#swarm.stats();
    const peers = plural(s.peers, 'peer');
    const blocked = this.#blocked ? ' · not announced on this server (blocked by its operator)' : '';
    if (s.length === null) {
      $('download-stats').textContent = `${peers} connected · waiting for the file description${blocked}`;
      return;
    }
    $<HTMLProgressElement>('download-progress').value = s.length === 0 ? 1 : s.have / s.length;
    const resumed = this.#resumedCount;
    const resumedNote = resumed > 0 ? ` · ${plural(resumed, 'piece')} resumed from this browser` : '';
    const line = s.done
      ? `${formatBytes(s.length)} · ${peers} · ${formatBytes(s.uploaded)} uploaded${resumedNote}`
      : `${formatBytes(s.have)} of ${formatBytes(s.length)} (${Math.floor((100 * s.have) / Math.max(1, s.length))}%) · ${peers}${resumedNote}`;
    $('download-stats').textContent = `${line}${blocked}`;
    this.#map.draw(this.#have);
  }

  #tick(): void {
    if (this.#destroyed) return;
    const s = this.#swarm.stats();
    this.#chart.push(Date.now(), s.downloadRate, s.uploadRate);
    $('fig-down').textContent = formatRate(s.downloadRate);
    $('fig-up').textContent = formatRate(s.uploadRate);
    $('fig-eta').textContent = s.done ? 'done' : formatDuration(s.eta);
    $('fig-seeders').textContent = s.seeders === null ? '—' : String(s.seeders);
    $('fig-leechers').textContent = s.leechers === null ? '—' : String(s.leechers);
    const ratio = ratioOf(this.#swarm);
    $('fig-ratio').textContent = ratio === null ? '—' : ratio.toFixed(2);
    this.#peers.render(this.#swarm);
    this.#renderProgress();
  }

  /** Bytes still to fetch, for the storage check. */
  bytesLeft(manifest: Manifest): number {
    let left = 0;
    for (let i = 0; i < manifest.pieces.length; i++) if (!this.#have?.has(i)) left += pieceSize(manifest, i);
    return left;
  }

  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#lonelyTimer);
    this.#frame.cancel();
    this.#chart.destroy();
    this.#map.destroy();
    this.#options.streams?.remove(this.#swarm.infoHash);
    for (const player of this.#files.flatMap((r) => Array.from(r.preview.querySelectorAll('video, audio')))) {
      // Stops its requests: a player keeps its source until told.
      player.removeAttribute('src');
      (player as HTMLMediaElement).load();
    }
    for (const url of this.#urls) URL.revokeObjectURL(url);
    this.#urls = [];
  }
}

const isPlayable = (mime: string) => mime.startsWith('video/') || mime.startsWith('audio/');
