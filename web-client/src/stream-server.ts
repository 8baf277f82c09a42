/**
 * The page's side of stream URLs (stream-protocol.ts): the service worker asks this tab for a
 * range of a file of a download it has open, and this tab answers from the verified pieces,
 * each chunk as soon as its piece is in, while the swarm fetches what the player needs first
 * (FileStreams). What the worker sends is checked like any other input.
 */
import { FileStreams, type PieceStore, type Swarm } from '@ringswarm/shared';
import { saveName } from './save.js';
import { type PageToWorker, STREAM_PATH, type StreamRequest, type WorkerToPage } from './stream-protocol.js';

/** Types a player or a preview may be given, by file extension (nothing that runs script). */
const MEDIA_TYPES: Readonly<Record<string, string>> = {
  webm: 'video/webm',
  mkv: 'video/webm',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  ogv: 'video/ogg',
  mov: 'video/mp4',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  oga: 'audio/ogg',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  weba: 'audio/webm',
  wav: 'audio/wav',
  flac: 'audio/flac',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  bmp: 'image/bmp',
  txt: 'text/plain',
  md: 'text/plain',
  log: 'text/plain',
  csv: 'text/plain',
  json: 'text/plain',
  pdf: 'application/pdf',
};

/** The type a file is played or previewed as, from its name; `application/octet-stream` for anything else. */
export function mediaTypeOf(path: string): string {
  const name = path.split('/').at(-1) ?? '';
  const dot = name.lastIndexOf('.');
  if (dot < 0) return 'application/octet-stream';
  return MEDIA_TYPES[name.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

/** The URL a player streams file `fileIndex` of the download `infoHash` from. */
export function streamUrl(infoHash: string, fileIndex: number, path: string): string {
  return `${STREAM_PATH}${infoHash}/${fileIndex}/${encodeURIComponent(saveName(path))}`;
}

/** True when a service worker controls this page, so stream URLs are answered. */
export function canStream(): boolean {
  return typeof navigator !== 'undefined' && !!navigator.serviceWorker?.controller;
}

const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** A service worker's message, checked; null for anything that is not a well-formed stream request. */
export function parseStreamRequest(data: unknown): StreamRequest | null {
  if (typeof data !== 'object' || data === null) return null;
  const r = data as Partial<Record<keyof StreamRequest, unknown>>;
  if (r.type !== 'ringswarm-stream') return null;
  if (typeof r.infoHash !== 'string' || !/^[0-9a-f]{64}$/.test(r.infoHash)) return null;
  if (!isIndex(r.fileIndex) || !isIndex(r.start)) return null;
  if (r.end !== null && !isIndex(r.end)) return null;
  if (r.suffix !== null && !isIndex(r.suffix)) return null;
  return { type: r.type, infoHash: r.infoHash, fileIndex: r.fileIndex, start: r.start, end: r.end, suffix: r.suffix };
}

export class StreamServer {
  readonly #downloads = new Map<string, FileStreams>();
  readonly #onMessage = (event: MessageEvent) => this.#serve(event);
  #destroyed = false;

  constructor() {
    const container = typeof navigator === 'undefined' ? undefined : navigator.serviceWorker;
    if (!container) return;
    container.addEventListener('message', this.#onMessage);
    container.startMessages();
  }

  /** Serves the files of `swarm` (until {@link remove}); returns its streams. */
  add(swarm: Swarm, store: PieceStore): FileStreams {
    this.remove(swarm.infoHash);
    const streams = new FileStreams(swarm, store);
    this.#downloads.set(swarm.infoHash, streams);
    return streams;
  }

  /** Stops serving a download; its open streams end. */
  remove(infoHash: string): void {
    this.#downloads.get(infoHash)?.destroy();
    this.#downloads.delete(infoHash);
  }

  #serve(event: MessageEvent): void {
    const port = event.ports[0];
    const ask = parseStreamRequest(event.data);
    if (!port || !ask || this.#destroyed) return;
    const reply = (message: PageToWorker, transfer: Transferable[] = []) => port.postMessage(message, transfer);
    const streams = this.#downloads.get(ask.infoHash);
    const file = streams?.swarm.manifest?.files[ask.fileIndex];
    if (!streams || !file) {
      reply({ type: 'error', code: 'ERR_NOT_FOUND' });
      port.close();
      return;
    }
    const length = file.length;
    const start = ask.suffix !== null ? Math.max(0, length - ask.suffix) : ask.start;
    const end = ask.suffix !== null ? length : Math.min(ask.end ?? length, length);
    if (start > end || (start === length && length > 0)) {
      reply({ type: 'error', code: 'ERR_RANGE', length });
      port.close();
      return;
    }
    const stream = streams.open(ask.fileIndex, start, end);
    reply({ type: 'head', start, end, length, mime: mediaTypeOf(file.path) });
    // A worker that went away without a word (where ports say so) leaves no stream behind.
    port.addEventListener('close', () => stream.close());
    port.onmessage = (e: MessageEvent<WorkerToPage>) => {
      if (e.data?.type === 'cancel') {
        stream.close();
        port.close();
        return;
      }
      if (e.data?.type !== 'pull') return;
      stream.next().then(
        (chunk) => {
          if (!chunk) {
            reply({ type: 'end' });
            return;
          }
          // A copy: the store may keep the piece's buffer, and this one is handed over.
          const bytes = chunk.slice().buffer;
          reply({ type: 'chunk', bytes }, [bytes]);
        },
        () => {
          stream.close();
          reply({ type: 'error', code: 'ERR_STORAGE' });
        },
      );
    };
  }

  /** Ends every stream and stops answering. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    navigator.serviceWorker?.removeEventListener('message', this.#onMessage);
    for (const infoHash of [...this.#downloads.keys()]) this.remove(infoHash);
  }
}
