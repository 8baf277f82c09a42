/**
 * Which origin a share link names. A page opened on localhost would hand out
 * `http://localhost:8080/#…`, useless to anyone else: such a page asks the server for the
 * origins other machines can reach it by (`GET /api/addresses` →
 * `{"origins": ["http://192.168.1.20:8080", …]}`) and builds the link on one of them. Any
 * of the server's origins serves any link (the share is in the #fragment). With no answer,
 * or an empty list, the page's own origin stays.
 */

import { addressesOf } from '@ringswarm/shared';

/** Key under which the origin picked for share links is remembered, per browser. */
export const SHARE_ORIGIN_KEY = 'ringswarm.shareOrigin';
/** Gives up on the server's answer after this long and keeps the page's own origin. */
export const ADDRESSES_FETCH_TIMEOUT_MS = 3_000;

/** True for host names that reach only this machine: localhost, 127.0.0.0/8, [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '[::1]' || host === '::1') return true;
  return /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * The well-formed origins of an untrusted `/api/addresses` answer, in its order, without
 * duplicates: http(s) URLs that are bare origins (see AddressesAnswerSchema).
 */
export function parseAddresses(body: unknown): string[] {
  return addressesOf(body);
}

export interface OriginChoice {
  /** The origin the link is built on. */
  origin: string;
  /** The origins a person can pick from; a picker is shown when there are two or more. */
  options: string[];
}

/**
 * Picks the link's origin: the page's own unless it is on a loopback host and the server
 * offered others; then the remembered pick if it is still offered, else the first offered.
 */
export function chooseShareOrigin(
  page: { origin: string; hostname: string },
  offered: readonly string[],
  remembered: string | null,
): OriginChoice {
  if (!isLoopbackHost(page.hostname) || offered.length === 0) return { origin: page.origin, options: [page.origin] };
  const origin = remembered !== null && offered.includes(remembered) ? remembered : offered[0]!;
  return { origin, options: [...offered] };
}

/** Asks the server for its reachable origins; an empty list when it has none or cannot say. */
export async function loadAddresses(): Promise<string[]> {
  try {
    const res = await fetch('/api/addresses', {
      cache: 'no-store',
      signal: AbortSignal.timeout(ADDRESSES_FETCH_TIMEOUT_MS),
    });
    if (!res.ok) return [];
    return parseAddresses(await res.json());
  } catch {
    return [];
  }
}
