/**
 * `npm run bench:hash`: SHA-256 in a Chromium worker, WebCrypto against the two maintained
 * fallbacks a page on plain HTTP can use (no `crypto.subtle` outside secure contexts):
 * hash-wasm (WebAssembly) and @noble/hashes (JavaScript). A --size MiB file (default 256)
 * is hashed the way the page's worker hashes a share: read 4 MiB at a time from the File,
 * each piece hashed on its own, for each piece length in --pieces (KiB, default 32 and the
 * length the page picks for this size). A "read only" row times the reads alone. Every
 * method must give the same digests. Medians of --reps (3). Prints a table, then one JSON
 * line. MB = 10^6 bytes.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';
import { median, ROOT, randomFile } from './common.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '256' },
    reps: { type: 'string', default: '3' },
    pieces: { type: 'string' },
  },
});
const MiB = 1024 * 1024;
const SIZE = Number(values.size) * MiB;
const REPS = Number(values.reps);
/** The page's rule (shared/src/swarm/manifest.ts choosePieceLength): about 1024 pieces, 16 KiB to 4 MiB. */
const pagePieceLength = (total: number) => {
  let length = 16 * 1024;
  while (length < 4 * MiB && length * 1024 < total) length *= 2;
  return length;
};
const PIECES = [
  ...new Set((values.pieces ?? `32,${pagePieceLength(SIZE) / 1024}`).split(',').map((k) => Number(k) * 1024)),
];
/** Bytes hashed once per method and piece length before timing, so that JIT and Wasm tier-up are done. */
const WARM_UP_BYTES = 16 * MiB;
const METHODS = ['read only', 'WebCrypto', 'hash-wasm', '@noble/hashes'] as const;
type Method = (typeof METHODS)[number];
/** What the bench page defines (PAGE below). */
interface BenchWindow {
  ready: Promise<void>;
  run(method: string, pieceLength: number, limit: number): Promise<{ ms: number; fold: string }>;
}

/** The bench's worker: the page worker's read loop (hash-worker.ts), with the hash swapped. */
const WORKER = `
import { createSHA256 } from '/hash-wasm/index.esm.js';
import { sha256 as nobleSha256 } from '/noble/sha2.js';
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const wasm = await createSHA256();
const digest = {
  'read only': async () => new Uint8Array(32),
  WebCrypto: async (piece) => new Uint8Array(await crypto.subtle.digest('SHA-256', piece)),
  'hash-wasm': async (piece) => { wasm.init(); wasm.update(piece); return wasm.digest('binary'); },
  '@noble/hashes': async (piece) => nobleSha256(piece),
};
self.onmessage = async ({ data: { file, method, pieceLength, limit } }) => {
  const started = performance.now();
  const fold = new Uint8Array(32);
  const chunkBytes = Math.max(pieceLength, READ_CHUNK_BYTES);
  const size = Math.min(file.size, limit);
  for (let offset = 0; offset < size; offset += chunkBytes) {
    const chunk = new Uint8Array(await file.slice(offset, offset + chunkBytes).arrayBuffer());
    for (let begin = 0; begin < chunk.length; begin += pieceLength) {
      const d = await digest[method](chunk.subarray(begin, Math.min(chunk.length, begin + pieceLength)));
      for (let i = 0; i < 32; i++) fold[i] ^= d[i];
    }
  }
  const ms = performance.now() - started;
  self.postMessage({ ms, fold: Array.from(fold, (b) => b.toString(16).padStart(2, '0')).join('') });
};
self.postMessage('ready');
`;

const PAGE = `<!doctype html><input type="file" id="file">
<script type="module">
  const worker = new Worker('/worker.js', { type: 'module' });
  window.ready = new Promise((resolve) => worker.addEventListener('message', () => resolve(), { once: true }));
  window.run = (method, pieceLength, limit) => new Promise((resolve) => {
    worker.addEventListener('message', (e) => resolve(e.data), { once: true });
    worker.postMessage({ file: document.getElementById('file').files[0], method, pieceLength, limit });
  });
</script>`;

/** Serves the page, the worker and the two libraries' ES modules (from node_modules) on localhost. */
function startPages(): Promise<Server> {
  const libs: Record<string, string> = {
    '/hash-wasm/': `${ROOT}node_modules/hash-wasm/dist/`,
    '/noble/': `${ROOT}node_modules/@noble/hashes/`,
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (path === '/worker.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(WORKER);
    for (const [prefix, dir] of Object.entries(libs)) {
      const name = path.slice(prefix.length);
      if (!path.startsWith(prefix) || !/^[\w.-]+\.js$/.test(name)) continue;
      res.writeHead(200, { 'content-type': 'text/javascript' });
      createReadStream(dir + name)
        .on('error', () => res.end())
        .pipe(res);
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ringswarm-bench-hash-'));
  const pages = await startPages();
  const browser = await chromium.launch({ executablePath: findChromium(), args: CHROMIUM_ARGS, headless: true });
  try {
    const file = join(dir, 'big.bin');
    await randomFile(file, SIZE);
    const page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => process.stderr.write(`page error: ${err.message}\n`));
    await page.goto(`http://localhost:${(pages.address() as AddressInfo).port}/`);
    await page.evaluate(() => (window as unknown as BenchWindow).ready);
    await page.setInputFiles('#file', file);

    /** MB/s per piece length and method, medians of REPS. */
    const rates = new Map<number, Map<Method, number>>();
    for (const pieceLength of PIECES) {
      const runs = new Map<Method, number[]>(METHODS.map((m) => [m, []]));
      const folds = new Map<Method, string>();
      const run = (method: Method, limit: number) =>
        page.evaluate(([m, p, l]) => (window as unknown as BenchWindow).run(m, p, l), [
          method,
          pieceLength,
          limit,
        ] as const);
      for (const method of METHODS) await run(method, WARM_UP_BYTES);
      for (let r = 0; r < REPS; r++) {
        for (const method of METHODS) {
          const { ms, fold } = await run(method, SIZE);
          runs.get(method)!.push(SIZE / 1e6 / (ms / 1000));
          if (method !== 'read only') folds.set(method, fold);
          process.stderr.write(
            `pieces ${pieceLength / 1024} KiB, rep ${r + 1}, ${method}: ${(SIZE / 1e6 / (ms / 1000)).toFixed(0)} MB/s\n`,
          );
        }
      }
      if (new Set(folds.values()).size !== 1) throw new Error(`digests differ at ${pieceLength} B pieces`);
      rates.set(pieceLength, new Map([...runs].map(([m, xs]) => [m, median(xs)])));
    }

    const round = (x: number) => Math.round(x);
    console.log(
      `\nhash benchmark: SHA-256 of a ${SIZE / MiB} MiB file, piece by piece, in a Chromium worker; MB/s (10^6 bytes), medians of ${REPS}`,
    );
    console.log(`${'piece length'.padEnd(14)}${METHODS.map((m) => m.padStart(15)).join('')}`);
    for (const [pieceLength, byMethod] of rates) {
      console.log(
        `${`${pieceLength / 1024} KiB`.padEnd(14)}${METHODS.map((m) => String(round(byMethod.get(m)!)).padStart(15)).join('')}`,
      );
    }
    console.log('read only = reading the File in 4 MiB chunks, no hashing (the ceiling for every row)');
    const figures: Record<string, number> = {};
    for (const [pieceLength, byMethod] of rates) {
      const k = `${pieceLength / 1024}k`;
      figures[`read_${k}_mbps`] = round(byMethod.get('read only')!);
      figures[`webcrypto_${k}_mbps`] = round(byMethod.get('WebCrypto')!);
      figures[`hash_wasm_${k}_mbps`] = round(byMethod.get('hash-wasm')!);
      figures[`noble_${k}_mbps`] = round(byMethod.get('@noble/hashes')!);
      figures[`hash_wasm_vs_noble_${k}`] =
        Math.round((100 * byMethod.get('hash-wasm')!) / byMethod.get('@noble/hashes')!) / 100;
      figures[`hash_wasm_vs_webcrypto_${k}`] =
        Math.round((100 * byMethod.get('hash-wasm')!) / byMethod.get('WebCrypto')!) / 100;
    }
    console.log(JSON.stringify({ size_mib: SIZE / MiB, reps: REPS, ...figures }));
  } finally {
    await browser.close();
    pages.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:hash: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
