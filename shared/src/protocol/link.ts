/**
 * Share links: `http(s)://<tracker origin>/#<infohash>[&mode=dht]`. The page that serves
 * the link is also the tracker, so the link's origin is the tracker URL.
 */
import { ErrorCode, RingswarmError } from './errors.js';
import { isInfoHash } from './ids.js';

export type DiscoveryMode = 'tracker' | 'dht';

export interface ShareLink {
  trackerUrl: string;
  infoHash: string;
  mode: DiscoveryMode;
}

export function formatShareLink(trackerUrl: string, infoHash: string, mode: DiscoveryMode = 'tracker'): string {
  const origin = new URL(trackerUrl).origin;
  return `${origin}/#${infoHash}${mode === 'dht' ? '&mode=dht' : ''}`;
}

/** Parses a share link; throws `ERR_BAD_LINK` with a reason a person can act on. */
export function parseShareLink(link: string): ShareLink {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new RingswarmError(
      ErrorCode.BAD_LINK,
      'not a URL; a share link looks like http://host:8080/#<64 hex digits>',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RingswarmError(ErrorCode.BAD_LINK, `unsupported scheme ${url.protocol}`);
  }
  const [hash = '', ...params] = url.hash.slice(1).split('&');
  const infoHash = hash.toLowerCase();
  if (!isInfoHash(infoHash)) {
    throw new RingswarmError(ErrorCode.BAD_LINK, 'the link should end in # and 64 hexadecimal characters');
  }
  let mode: DiscoveryMode = 'tracker';
  for (const param of params) {
    if (param === 'mode=dht') mode = 'dht';
    else if (param !== 'mode=tracker' && param !== '') {
      throw new RingswarmError(ErrorCode.BAD_LINK, `unknown link parameter "${param.slice(0, 40)}"`);
    }
  }
  return { trackerUrl: url.origin, infoHash, mode };
}
