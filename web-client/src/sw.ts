/**
 * The page's service worker (served as /sw.js, scope /). Secure contexts only (HTTPS and
 * localhost): a plain-HTTP page has no service worker, and says so (plain-http.ts).
 *
 * - The page shell works offline: a navigation goes to the network first and falls back to
 *   the last page it got; hashed assets (/assets/*, immutable) come from the cache once
 *   fetched. Nothing else is touched: /api/*, socket.io and every other origin go straight
 *   to the network, and no file byte is ever cached here.
 * - The share target (manifest.webmanifest `share_target`): a file shared from the system's
 *   share sheet arrives as a POST of /share-target. Its files are kept in the cache
 *   {@link SHARE_TARGET_CACHE} and the browser is sent to `/?share-target`, where the page
 *   takes them out and shares them (share-target.ts).
 *
 * - Stream URLs (`/stream/<infohash>/<file>/<name>`, stream-protocol.ts): a player's range
 *   requests are answered from the verified pieces of a download open in a tab, which fetches
 *   what the player needs first. The answer is sandboxed (CSP `sandbox`, no sniffing), so a
 *   shared HTML or SVG file opened by its stream URL cannot run script in this origin.
 *
 * Self-contained on purpose (no run-time imports): it is built as one classic script.
 */
import type { PageToWorker, StreamHead, StreamRequest, WorkerToPage } from './stream-protocol.js';

/** Stream URLs' prefix (stream-protocol.ts STREAM_PATH; this script imports no values). */
const STREAM_PATH = '/stream/';
/** How long a tab has to say whether it has the download a stream URL names. */
const STREAM_HEAD_TIMEOUT_MS = 5_000;
/** Headers on every stream answer: never cached, never sniffed, never run as a page. */
const STREAM_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'referrer-policy': 'no-referrer',
};

/** The cache of the page shell; a new name drops the old one on activation. */
const SHELL_CACHE = 'ringswarm-shell-v1';
/** Files handed over by the share target; share-target.ts reads the same name. */
const SHARE_TARGET_CACHE = 'ringswarm-share-target';
/** Where the page is opened after a share-target POST (share-target.ts looks for it). */
const SHARE_TARGET_LANDING = '/?share-target';

interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEventLike extends ExtendableEventLike {
  readonly request: Request;
  /** The tab that made the request ('' for a navigation). */
  readonly clientId: string;
  respondWith(response: Promise<Response> | Response): void;
}
interface WindowClientLike {
  readonly id: string;
  postMessage(message: StreamRequest, transfer: Transferable[]): void;
}
interface ServiceWorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEventLike) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: {
    claim(): Promise<void>;
    get(id: string): Promise<WindowClientLike | undefined>;
    matchAll(options: { type: 'window' }): Promise<WindowClientLike[]>;
  };
  readonly location: Location;
}
const sw = self as unknown as ServiceWorkerScope;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.add('/'))
      .catch(() => {
        // Offline at install: the shell is cached on the next navigation instead.
      })
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(names.filter((n) => n !== SHELL_CACHE && n !== SHARE_TARGET_CACHE).map((n) => caches.delete(n))),
      )
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  if (request.method === 'POST' && url.pathname === '/share-target') {
    event.respondWith(takeSharedFiles(request));
    return;
  }
  if (request.method !== 'GET') return;
  if (url.pathname.startsWith(STREAM_PATH)) event.respondWith(streamResponse(event, url));
  else if (request.mode === 'navigate') event.respondWith(networkFirst(request));
  else if (url.pathname.startsWith('/assets/')) event.respondWith(cacheFirst(request));
});

/** The page from the network (kept as the offline copy), else the last one kept. */
async function networkFirst(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    // Every navigation of the app is the one page; it is kept under '/'.
    if (response.ok && response.type === 'basic') await cache.put('/', response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match('/');
    if (kept) return kept;
    throw err;
  }
}

/** A hashed asset never changes: the cached copy, else the network's (then cached). */
async function cacheFirst(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

/** Keeps the files of a share-target POST for the page, then sends the browser to it. */
async function takeSharedFiles(request: Request): Promise<Response> {
  let files: File[] = [];
  try {
    const form = await request.formData();
    files = form.getAll('files').filter((f): f is File => f instanceof File && f.size >= 0 && f.name !== '');
  } catch {
    // Not a form: nothing to share; the page says so.
  }
  const cache = await caches.open(SHARE_TARGET_CACHE);
  for (const key of await cache.keys()) await cache.delete(key);
  let i = 0;
  for (const file of files) {
    const headers = {
      'content-type': file.type || 'application/octet-stream',
      'x-file-name': encodeURIComponent(file.name),
      'x-last-modified': String(file.lastModified),
    };
    await cache.put(`/share-target/${i++}`, new Response(file, { headers }));
  }
  return Response.redirect(SHARE_TARGET_LANDING, 303);
}

/** A stream URL's answer: a 206 (or 200) streamed from the tab that has the download. */
async function streamResponse(event: FetchEventLike, url: URL): Promise<Response> {
  const [infoHash = '', index = ''] = url.pathname.slice(STREAM_PATH.length).split('/');
  const fileIndex = Number(index);
  if (!/^[0-9a-f]{64}$/.test(infoHash) || !/^\d{1,9}$/.test(index)) return streamError(400, 'not a stream URL');
  const asked = parseRange(event.request.headers.get('range'));
  const range = asked ?? WHOLE_FILE;
  const ask: StreamRequest = { type: 'ringswarm-stream', infoHash, fileIndex, ...range };
  // The tab that asked first (a player's requests carry its client), then every other tab.
  const asker = event.clientId ? await sw.clients.get(event.clientId) : undefined;
  const tabs = (await sw.clients.matchAll({ type: 'window' })).filter((c) => c.id !== asker?.id);
  for (const tab of asker ? [asker, ...tabs] : tabs) {
    const answer = await askTab(tab, ask);
    if (!answer) continue;
    const { port, head } = answer;
    if (head.type === 'head') return streamBody(port, head, asked !== null);
    port.close();
    if (head.type === 'error' && head.code === 'ERR_RANGE') {
      return new Response(null, {
        status: 416,
        headers: { ...STREAM_HEADERS, 'content-range': `bytes */${head.length ?? 0}` },
      });
    }
    if (head.type === 'error' && head.code === 'ERR_STORAGE') return streamError(500, 'the download could not be read');
  }
  return streamError(404, 'this download is not open in any tab of this browser');
}

type ByteRange = Pick<StreamRequest, 'start' | 'end' | 'suffix'>;
const WHOLE_FILE: ByteRange = { start: 0, end: null, suffix: null };

/**
 * The first range of a Range header (`bytes=a-b`, `bytes=a-`, `bytes=-n`). Null for no header,
 * or one this does not take (several ranges, other units, inverted): the whole file is sent,
 * with a 200, as a server may. A range taken is answered with a 206, `bytes=0-` included (a
 * player takes a 200 to mean the file cannot be seeked in).
 */
function parseRange(header: string | null): ByteRange | null {
  const m = header ? /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim()) : null;
  if (!m) return null;
  const [, from = '', to = ''] = m;
  if (from === '' && to === '') return null;
  if (from === '') return { start: 0, end: null, suffix: Number(to) };
  const start = Number(from);
  if (to === '') return { start, end: null, suffix: null };
  const last = Number(to);
  return last < start ? null : { start, end: last + 1, suffix: null };
}

/** Posts the request to one tab; its first answer, or null when it has none in time. */
function askTab(tab: WindowClientLike, ask: StreamRequest): Promise<{ port: MessagePort; head: PageToWorker } | null> {
  const channel = new MessageChannel();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      channel.port1.close();
      resolve(null);
    }, STREAM_HEAD_TIMEOUT_MS);
    channel.port1.onmessage = (e: MessageEvent<PageToWorker>) => {
      clearTimeout(timer);
      channel.port1.onmessage = null;
      if (e.data?.type === 'error' && e.data.code === 'ERR_NOT_FOUND') {
        channel.port1.close();
        resolve(null);
      } else resolve({ port: channel.port1, head: e.data });
    };
    tab.postMessage(ask, [channel.port2]);
  });
}

/** The answer's body, pulled chunk by chunk from the tab over `port`. */
function streamBody(port: MessagePort, head: StreamHead, partial: boolean): Response {
  let waiting: ((message: PageToWorker) => void) | null = null;
  port.onmessage = (e: MessageEvent<PageToWorker>) => waiting?.(e.data);
  const send = (message: WorkerToPage) => port.postMessage(message);
  const body = new ReadableStream<Uint8Array>({
    pull: (controller) =>
      new Promise<void>((resolve) => {
        waiting = (message) => {
          waiting = null;
          if (message.type === 'chunk') controller.enqueue(new Uint8Array(message.bytes));
          else if (message.type === 'end') {
            controller.close();
            port.close();
          } else {
            controller.error(new Error('the download could not be read'));
            port.close();
          }
          resolve();
        };
        send({ type: 'pull' });
      }),
    cancel: () => {
      send({ type: 'cancel' });
      port.close();
    },
  });
  const headers: Record<string, string> = {
    ...STREAM_HEADERS,
    'content-type': head.mime,
    'content-length': String(head.end - head.start),
    'accept-ranges': 'bytes',
  };
  if (!partial || head.end === head.start) return new Response(body, { status: 200, headers });
  headers['content-range'] = `bytes ${head.start}-${head.end - 1}/${head.length}`;
  return new Response(body, { status: 206, headers });
}

function streamError(status: number, text: string): Response {
  return new Response(text, { status, headers: { ...STREAM_HEADERS, 'content-type': 'text/plain; charset=utf-8' } });
}
