/**
 * The installed app as a share target (manifest.webmanifest `share_target`): a file shared
 * from the system's share sheet is POSTed to /share-target, where the service worker (sw.ts)
 * keeps it in a cache and sends the browser to `/?share-target`. Here the page takes the
 * files out of that cache (and empties it) so they can be shared like picked ones.
 */
import type { PickedFile } from './share.js';

/** The cache sw.ts keeps shared files in. */
const SHARE_TARGET_CACHE = 'ringswarm-share-target';
/** The query parameter sw.ts opens the page with. */
const LANDING_PARAM = 'share-target';

/** True when this page was opened by the share target. */
export function openedByShareTarget(location: Location): boolean {
  return new URLSearchParams(location.search).has(LANDING_PARAM);
}

/**
 * The files the share target handed over, in the order shared; the cache is emptied and the
 * address bar no longer names the share target (a reload does not share them again).
 */
export async function takeSharedFiles(): Promise<PickedFile[]> {
  const url = new URL(window.location.href);
  url.searchParams.delete(LANDING_PARAM);
  history.replaceState(null, '', url);
  if (typeof caches === 'undefined') return [];
  const cache = await caches.open(SHARE_TARGET_CACHE);
  const keys = [...(await cache.keys())];
  keys.sort((a, b) => indexOf(a) - indexOf(b));
  const picked: PickedFile[] = [];
  for (const key of keys) {
    const response = await cache.match(key);
    await cache.delete(key);
    if (!response) continue;
    let name: string;
    try {
      name = decodeURIComponent(response.headers.get('x-file-name') ?? '');
    } catch {
      continue;
    }
    if (name === '') continue;
    const lastModified = Number(response.headers.get('x-last-modified'));
    const file = new File([await response.blob()], name, {
      type: response.headers.get('content-type') ?? '',
      ...(Number.isFinite(lastModified) ? { lastModified } : {}),
    });
    picked.push({ file, path: name });
  }
  return picked;
}

const indexOf = (request: Request): number => Number(new URL(request.url).pathname.split('/').pop());
