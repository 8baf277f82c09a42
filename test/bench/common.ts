/**
 * What the browser benchmarks share: the repository's paths, the WebTorrent anchor
 * (installed on demand into test/bench/anchors with --ignore-scripts, never a dependency of
 * the project), a static server for its page, and small statistics.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
/** The repository root (benchmarks run from test/bench/dist/bench/). */
export const ROOT = here('../../../../');
export const ANCHORS = `${ROOT}test/bench/anchors`;

/** Stops with a clear message unless `npm run build` has produced the server and the page. */
export function requireBuild(): void {
  if (!existsSync(`${ROOT}signaling-server/dist/main.js`) || !existsSync(`${ROOT}web-client/dist/index.html`)) {
    throw new Error('build first: npm run build');
  }
}

/** Installs WebTorrent and bittorrent-tracker into the anchors folder unless they are there. */
export function ensureAnchors(): void {
  if (existsSync(`${ANCHORS}/node_modules/webtorrent/dist/webtorrent.min.js`)) return;
  process.stderr.write('installing WebTorrent and bittorrent-tracker for comparison (--ignore-scripts)…\n');
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: ANCHORS, stdio: 'inherit' });
}

/** Resolves with the first match of `re` (group 1) in a child's stdout; rejects if it exits first. */
export function portOf(child: ChildProcess, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = re.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

/** Serves the WebTorrent page and bundle, and a blank page for raw channel tests, on localhost. */
export function anchorPages(): Promise<Server> {
  const files: Record<string, [string, string]> = {
    '/wt.html': [`${ANCHORS}/wt.html`, 'text/html'],
    '/webtorrent.min.js': [`${ANCHORS}/node_modules/webtorrent/dist/webtorrent.min.js`, 'text/javascript'],
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const file = files[path];
    if (path === '/blank.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>');
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[1] });
    createReadStream(file[0]).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface Trackers {
  /** Our server (tracker and page) from `npm run build`. */
  ourUrl: string;
  /** bittorrent-tracker's WebSocket tracker, for WebTorrent. */
  btTracker: string;
  /** The static server for WebTorrent's page, and its origin. */
  pages: Server;
  pagesBase: string;
}

/** Starts our server, bittorrent-tracker and the WebTorrent page server; children go into `children`. */
export async function startTrackers(children: ChildProcess[]): Promise<Trackers> {
  // No built-in STUN: the pages are on one machine, and UDP 3478 may be taken (coturn). Every
  // peer of a benchmark comes from one address with a fresh ID: the per-address ID limit is off
  // (a crowd benchmark brings 9 new IDs a round; the default 32 a window stalled its fifth round).
  const args = ['--port', '0', '--stun-port', '0', '--log-level', 'warn', '--max-ids-per-ip', '0'];
  const ours = spawn(process.execPath, [`${ROOT}signaling-server/dist/main.js`, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(ours);
  const ourUrl = `http://localhost:${await portOf(ours, /listening on http:\/\/[^:]+:(\d+)/)}`;
  const bt = spawn(process.execPath, [`${ANCHORS}/bt-server.mjs`], {
    cwd: ANCHORS,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(bt);
  const btTracker = `ws://127.0.0.1:${await portOf(bt, /listening on (\d+)/)}`;
  const pages = await anchorPages();
  return { ourUrl, btTracker, pages, pagesBase: `http://localhost:${(pages.address() as AddressInfo).port}` };
}

/** Bytes of random data written at a time by {@link randomFile}. */
const RANDOM_CHUNK_BYTES = 16 * 1024 * 1024;

/** Writes `size` random bytes to `path` a chunk at a time, so a large file never sits in memory. */
export async function randomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = size; left > 0; left -= RANDOM_CHUNK_BYTES) {
    const chunk = randomBytes(Math.min(RANDOM_CHUNK_BYTES, left));
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
