/**
 * The server must never show what is shared: for every share a test makes, /api/stats (with
 * and without the admin token) and /metrics must not contain its infohash, nor any 16 hex
 * digits of it in a row. Each test file (vitest runs each in its own module graph) keeps its
 * own registry of shares: `seedable()` and `shareLink()` note theirs, other tests call
 * {@link noteShare}, and the server fixtures run {@link expectNoInfoHashLeak} before they stop.
 */
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

/** Hex digits in a row that count as a leak. */
export const LEAK_HEX_DIGITS = 16;

const shares = new Set<string>();

/** Remembers a share's infohash (64 hex digits) for every later leak check of this file. */
export function noteShare(infoHash: string): void {
  if (!/^[0-9a-fA-F]{64}$/.test(infoHash)) throw new Error(`noteShare: not an infohash: ${infoHash}`);
  shares.add(infoHash.toLowerCase());
}

/** Notes the infohash of a share link (`…#<64 hex>`, maybe `&mode=…` after it); returns the link. */
export function noteLink(link: string): string {
  const match = /#([0-9a-fA-F]{64})(?![0-9a-fA-F])/.exec(link);
  if (!match?.[1]) throw new Error(`noteLink: not a share link: ${link}`);
  noteShare(match[1]);
  return link;
}

/** The infohashes noted so far in this file. */
export function notedShares(): string[] {
  return [...shares];
}

/** The first place `text` shows a run of {@link LEAK_HEX_DIGITS} digits of one of `infoHashes`, or null. */
export function findLeak(text: string, infoHashes: Iterable<string>): { infoHash: string; at: number } | null {
  const haystack = text.toLowerCase();
  for (const infoHash of infoHashes) {
    const hash = infoHash.toLowerCase();
    for (let i = 0; i + LEAK_HEX_DIGITS <= hash.length; i++) {
      const at = haystack.indexOf(hash.slice(i, i + LEAK_HEX_DIGITS));
      if (at >= 0) return { infoHash: hash, at };
    }
  }
  return null;
}

export interface LeakCheckOptions {
  /** Also fetch /api/stats with `Authorization: Bearer <adminToken>` (the per-swarm figures). */
  adminToken?: string;
  /** Fetches a URL's body as text; default global fetch (a server in a network namespace needs its own). */
  get?: (url: string, headers: Record<string, string>) => Promise<string>;
  /** Shares to look for; default every share noted in this file. */
  shares?: Iterable<string>;
}

/**
 * A `node -e` script that prints `url`'s body: how the check reaches a server in a network
 * namespace (`get: (url, h) => lab.exec(ns, process.execPath, ['-e', fetchScript(url, h)])`).
 */
export function fetchScript(url: string, headers: Record<string, string>): string {
  return `fetch(${JSON.stringify(url)}, { headers: ${JSON.stringify(headers)} }).then((r) => r.text()).then((t) => process.stdout.write(t))`;
}

/** GET over http or https; a test server's self-signed certificate is accepted (it is ours). */
function fetchText(url: string, headers: Record<string, string>): Promise<string> {
  const get = url.startsWith('https:') ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
  });
}

/**
 * Fetches /api/stats (and with the admin token, if given) and /metrics from `baseUrl` and
 * throws if any of them shows a noted infohash or 16 hex digits of one. A server that does not
 * answer fails the check too: a check that could not look has not passed.
 */
export async function expectNoInfoHashLeak(baseUrl: string, options: LeakCheckOptions = {}): Promise<void> {
  const get = options.get ?? fetchText;
  const list = [...(options.shares ?? shares)];
  const pages: [string, Record<string, string>][] = [
    ['/api/stats', {}],
    ['/metrics', {}],
  ];
  if (options.adminToken !== undefined) pages.push(['/api/stats', { authorization: `Bearer ${options.adminToken}` }]);
  for (const [path, headers] of pages) {
    const body = await get(`${baseUrl}${path}`, headers);
    const leak = findLeak(body, list);
    if (leak) {
      const who = headers.authorization ? ' (with the admin token)' : '';
      const excerpt = body.slice(Math.max(0, leak.at - 40), leak.at + LEAK_HEX_DIGITS + 40);
      throw new Error(`${path}${who} leaks infohash ${leak.infoHash} at ${leak.at}: …${excerpt}…`);
    }
  }
}

/** A server a test stops: the leak check runs first, then it closes even when the check fails. */
export async function closeChecked(
  server: { url: string; close(): Promise<void> },
  options: LeakCheckOptions = {},
): Promise<void> {
  try {
    await expectNoInfoHashLeak(server.url, options);
  } finally {
    await server.close();
  }
}
