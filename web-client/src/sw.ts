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
 * Self-contained on purpose (no imports): it is built as one classic script.
 */

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
  respondWith(response: Promise<Response> | Response): void;
}
interface ServiceWorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEventLike) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
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
  if (request.mode === 'navigate') event.respondWith(networkFirst(request));
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
