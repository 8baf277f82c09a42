/**
 * The share half of the page: pick or drop files or a folder, hash them in the worker, seed
 * them (private, or listed publicly by file name when the person ticks "List publicly"), and
 * show the link (text, QR code, copy and native share buttons) on an origin others can reach
 * (share-origin.ts), with a picker when the server has several.
 */
import { formatBytes, formatRate, formatShareLink, plural, type RingswarmClient, type Swarm } from '@ringswarm/shared';
import QRCode from 'qrcode';
import { $, h } from './dom.js';
import { BLOCKED_TEXT, STATS_INTERVAL_MS, type Status } from './download-view.js';
import { copyText, remembered } from './plain-http.js';
import { type PickedFile, pickedFromDrop, pickedFromInput, prepareFiles } from './share.js';
import {
  chooseShareOrigin,
  isLoopbackHost,
  loadAddresses,
  type OriginChoice,
  SHARE_ORIGIN_KEY,
} from './share-origin.js';

export interface ShareViewOptions {
  getClient: () => Promise<RingswarmClient>;
  status: Status;
  /** A share started: refresh the panel of what this tab shares. */
  onShared: (client: RingswarmClient) => void;
  /** Whether the tracker refused this share (ERR_BLOCKED: the operator blocked it). */
  isBlocked: (infoHash: string) => boolean;
}

/** What the share view says of a share's visibility. */
export const VISIBILITY_TEXT = {
  public: 'Listed publicly: anyone can find it by its file name.',
  private: 'Private: only people with the link can open it.',
} as const;

/** How long the copy button shows its result. */
export const COPY_RESULT_MS = 2_000;

export class ShareView {
  readonly #options: ShareViewOptions;
  /** The share whose link is shown. */
  #infoHash: string | null = null;
  /** The origins the server offered (asked once). */
  #offered: Promise<string[]> | null = null;
  /** The origin picked in this page (kept even where localStorage is unavailable). */
  #picked: string | null = null;
  #copyReset: ReturnType<typeof setTimeout> | undefined;
  /** Refreshes the seeding line of the share shown (it knows whether it is blocked). */
  #renderSeeding: (() => void) | null = null;
  readonly #ui = {
    dropZone: $('drop-zone'),
    fileInput: $<HTMLInputElement>('file-input'),
    listPublic: $<HTMLInputElement>('list-public'),
    visibility: $('share-visibility'),
    blocked: $('share-blocked'),
    folderInput: $<HTMLInputElement>('folder-input'),
    hashing: $('hashing'),
    hashName: $('hash-name'),
    hashProgress: $<HTMLProgressElement>('hash-progress'),
    hashDetail: $('hash-detail'),
    shared: $('shared'),
    shareLink: $<HTMLInputElement>('share-link'),
    shareOrigin: $<HTMLSelectElement>('share-origin'),
    shareOriginRow: $('share-origin-row'),
    copyLink: $<HTMLButtonElement>('copy-link'),
    nativeShare: $<HTMLButtonElement>('native-share'),
    shareQr: $('share-qr'),
    seedStats: $('seed-stats'),
  };

  constructor(options: ShareViewOptions) {
    this.#options = options;
    const ui = this.#ui;
    for (const input of [ui.fileInput, ui.folderInput]) {
      input.addEventListener('change', () => {
        if (input.files && input.files.length > 0) void this.share(pickedFromInput(input.files));
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
        (picked) => this.share(picked),
        (err: Error) => options.status(`Could not read what was dropped: ${err.message}`, 'error'),
      );
    });
    ui.nativeShare.addEventListener('click', () => {
      navigator
        .share({ title: 'ringswarm', text: 'Download this from my browser:', url: ui.shareLink.value })
        .catch(() => {
          // The person closed the share sheet; nothing to do.
        });
    });
    ui.copyLink.addEventListener('click', async () => {
      const copied = await copyText(ui.shareLink);
      // The link stays selected when copying failed, so Ctrl+C (or Cmd+C) copies it.
      ui.copyLink.textContent = copied ? 'Copied' : 'Press Ctrl+C';
      ui.copyLink.dataset.copied = String(copied);
      clearTimeout(this.#copyReset);
      this.#copyReset = setTimeout(() => {
        ui.copyLink.textContent = 'Copy';
        delete ui.copyLink.dataset.copied;
      }, COPY_RESULT_MS);
    });
    ui.shareOrigin.addEventListener('change', () => {
      this.#picked = ui.shareOrigin.value;
      remembered.set(SHARE_ORIGIN_KEY, ui.shareOrigin.value);
      this.#showLink();
    });
  }

  /**
   * Which origin share links name. On a loopback page, asks the server for the addresses
   * others can use (once; later shares reuse the answer), then takes this page's pick or the
   * one remembered in this browser.
   */
  async #origins(): Promise<OriginChoice> {
    const page = { origin: window.location.origin, hostname: window.location.hostname };
    this.#offered ??= isLoopbackHost(page.hostname) ? loadAddresses() : Promise.resolve([]);
    return chooseShareOrigin(page, await this.#offered, this.#picked ?? remembered.get(SHARE_ORIGIN_KEY));
  }

  /** Fills the origin picker (shown when there is a choice) and shows the link on the picked origin. */
  #showChoice(choice: OriginChoice): void {
    const ui = this.#ui;
    ui.shareOrigin.replaceChildren(
      ...choice.options.map((origin) => h('option', { value: origin, selected: origin === choice.origin }, origin)),
    );
    ui.shareOrigin.value = choice.origin;
    ui.shareOriginRow.hidden = choice.options.length < 2;
    this.#showLink();
  }

  #showLink(): void {
    const ui = this.#ui;
    if (this.#infoHash === null) return;
    ui.shareLink.value = formatShareLink(ui.shareOrigin.value || window.location.origin, this.#infoHash);
    void this.#showQrCode(ui.shareLink.value);
  }

  /** Turns off picking files (the browser cannot share). */
  disable(): void {
    this.#ui.fileInput.disabled = true;
    this.#ui.folderInput.disabled = true;
    this.#ui.listPublic.disabled = true;
  }

  /** The tracker refused the share `infoHash` (ERR_BLOCKED): say so if it is the one shown. */
  blocked(infoHash: string): void {
    if (infoHash === this.#infoHash) this.#showBlocked();
  }

  #showBlocked(): void {
    const ui = this.#ui;
    const blocked = this.#infoHash !== null && this.#options.isBlocked(this.#infoHash);
    ui.blocked.hidden = !blocked;
    ui.blocked.textContent = blocked ? `${BLOCKED_TEXT} It is not announced on this server.` : '';
    this.#renderSeeding?.();
  }

  async share(picked: PickedFile[]): Promise<void> {
    if (picked.length === 0) return;
    const ui = this.#ui;
    const setStatus = this.#options.status;
    const total = picked.reduce((sum, p) => sum + p.file.size, 0);
    const label = picked.length === 1 ? picked[0]!.file.name : `${picked.length} files`;
    // Read when the files are picked: ticking the box afterwards does not change this share.
    const listed = ui.listPublic.checked;
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
        this.#options.getClient(),
      ]);
      const swarm = await c.seed(prepared.manifest, prepared.store, prepared.have, { public: listed });
      const choice = await this.#origins();
      ui.hashing.hidden = true;
      ui.dropZone.hidden = false;
      ui.shared.hidden = false;
      this.#infoHash = swarm.infoHash;
      ui.visibility.textContent = listed ? VISIBILITY_TEXT.public : VISIBILITY_TEXT.private;
      ui.visibility.dataset.visibility = listed ? 'public' : 'private';
      this.#showChoice(choice);
      ui.nativeShare.hidden = typeof navigator.share !== 'function';
      const count = prepared.manifest.files.length;
      const what = count === 1 || prepared.manifest.name === `${count} files` ? '' : ` (${count} files)`;
      setStatus(`Sharing ${prepared.manifest.name}${what}. Send the link to whoever should get it.`, 'ok');
      this.#trackSeeding(swarm);
      this.#showBlocked();
      this.#options.onShared(c);
    } catch (err) {
      ui.hashing.hidden = true;
      ui.dropZone.hidden = false;
      setStatus(`Could not share ${label}: ${(err as Error).message}`, 'error');
    }
  }

  #trackSeeding(swarm: Swarm): void {
    const ui = this.#ui;
    const render = () => {
      if (swarm.infoHash !== this.#infoHash) return;
      const s = swarm.stats();
      const blocked = this.#options.isBlocked(swarm.infoHash) ? ' · not announced on this server' : '';
      ui.seedStats.textContent = `${plural(s.peers, 'peer')} connected · ${formatBytes(s.uploaded)} uploaded${blocked}`;
    };
    this.#renderSeeding = render;
    render();
    const timer = setInterval(render, STATS_INTERVAL_MS);
    swarm.on('close', () => {
      clearInterval(timer);
      if (swarm.infoHash === this.#infoHash) ui.seedStats.textContent = 'Not shared any more.';
    });
  }

  /** Draws the link as a QR code (SVG, made by the qrcode library from our own link). */
  async #showQrCode(link: string): Promise<void> {
    try {
      const svg = await QRCode.toString(link, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
      const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
      this.#ui.shareQr.replaceChildren(document.importNode(doc.documentElement, true));
    } catch {
      this.#ui.shareQr.replaceChildren();
    }
  }
}
