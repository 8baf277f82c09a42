/**
 * Headers every HTTP answer of the server carries (page, assets, API, socket.io's own
 * answers, the TLS front's redirect): a Content-Security-Policy that lets scripts and
 * workers come from this origin only and forbids framing (no clickjacking of "Delete" or
 * "Stop sharing"), no MIME sniffing, no Referer.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * What the built page needs, and nothing more for code:
 * - `script-src 'self' 'wasm-unsafe-eval'`: the bundle and its module worker are files of this
 *   origin; the SHA-256 fallback for plain HTTP (hash-wasm) compiles WebAssembly, which CSP
 *   blocks without `'wasm-unsafe-eval'`. No `'unsafe-inline'`, no `'unsafe-eval'`.
 * - `worker-src 'self'`: the hash worker is `new Worker(new URL(...), {type: 'module'})`.
 * - `style-src 'self'`: one stylesheet; charts and the piece map set styles through the CSSOM,
 *   which CSP does not govern.
 * - `img-src 'self' data: blob:` and `media-src 'self' blob:`: previews and players show a
 *   verified file from a `blob:` URL of the stored copy, or from a stream URL of this origin
 *   (the service worker answers it). Saving a file is a navigation to a `blob:` URL with
 *   `download`, which no fetch directive governs.
 * - `connect-src 'self' ws: wss: http: https:`: the page's tracker, socket.io and /api/* are on
 *   this origin, but a share link may name a tracker elsewhere; WebRTC (ICE) is not governed by
 *   CSP at all.
 * - `object-src 'none'`, `base-uri 'none'`, `form-action 'self'`, `frame-ancestors 'none'`.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self' ws: wss: http: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Sets {@link SECURITY_HEADERS} on a response before its head is written. */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/** Adds {@link SECURITY_HEADERS} to a header object (engine.io's `headers` event hands one out). */
export function addSecurityHeaders(headers: OutgoingHttpHeaders): void {
  Object.assign(headers, SECURITY_HEADERS);
}
