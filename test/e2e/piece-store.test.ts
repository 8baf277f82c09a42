/**
 * The page's two kept piece stores, OpfsPieceStore and IndexedDbPieceStore, pass one
 * contract in real Chromium (test/e2e/fixtures/piece-store/contract.ts, built with the
 * page's Vite config): pieces back in any order and range, short last piece, nothing stale
 * after a rewrite, files across piece boundaries, idempotent destroy, persistence across
 * store instances (a reload), the kept manifest checked against its infohash, the worker's
 * re-verification dropping a damaged piece, and nothing left after removal. IndexedDB runs
 * it on a plain-HTTP origin too, where the page really uses it.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium } from '../helpers/chromium.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/piece-store/', import.meta.url));
const VITE_CONFIG = fileURLToPath(new URL('../../web-client/vite.config.ts', import.meta.url));
const TEST_HOST = 'ringswarm.test';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

describe('PieceStore contract for the page stores, in Chromium', () => {
  let out: string;
  let server: Server;
  let browser: Browser;
  let port: number;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'ringswarm-store-contract-'));
    await build({
      configFile: VITE_CONFIG,
      root: FIXTURE,
      logLevel: 'warn',
      // The fixture page alone (the web client's config also builds its page and service worker).
      build: {
        outDir: out,
        emptyOutDir: true,
        sourcemap: false,
        rollupOptions: { input: join(FIXTURE, 'index.html') },
      },
    });
    server = createServer((req, res) => {
      const path = normalize((req.url ?? '/').split('?')[0]!).replace(/^(\.\.[/\\])+/, '');
      const file = join(out, path === '/' ? 'index.html' : path);
      if (!file.startsWith(out)) return void res.writeHead(404).end();
      const stream = createReadStream(file);
      stream.once('error', () => res.writeHead(404).end());
      stream.once('open', () => {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        stream.pipe(res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    browser = await chromium.launch({
      executablePath: findChromium(),
      args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${TEST_HOST} 127.0.0.1`],
      headless: true,
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (out) await rm(out, { recursive: true, force: true });
  });

  async function runContract(origin: string, kind: 'opfs' | 'indexeddb'): Promise<Record<string, unknown>> {
    const page: Page = await (await browser.newContext()).newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    try {
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => 'contract' in window);
      return await page.evaluate(
        (k) => (window as unknown as { contract(k: string): Promise<Record<string, unknown>> }).contract(k),
        kind,
      );
    } finally {
      await page.context().close();
    }
  }

  const expected = {
    absentBeforeWrite: expect.any(String),
    wholePiecesBack: true,
    rangeBack: true,
    lastPieceSize: 1000 + 77,
    pieceCount: 4,
    outOfRange: 'RangeError',
    absentPiece: expect.any(String),
    rewritten: true,
    fileA: true,
    fileB: true,
    readAfterDestroy: 'Error',
    writeAfterDestroy: 'Error',
    persisted: true,
    otherInfoHash: expect.any(String),
    manifestBack: true,
    manifestUnderWrongKey: null,
    // Pieces 0 to 2 pass; the last one was damaged and is dropped.
    verified: [0, 1, 2],
    damagedGone: expect.any(String),
    afterRemove: expect.any(String),
    manifestAfterRemove: null,
    verifiedAfterRemove: [],
  };

  for (const [kind, host] of [
    ['opfs', 'localhost'],
    ['indexeddb', 'localhost'],
    ['indexeddb', TEST_HOST],
  ] as const) {
    it(`${kind} on http://${host} keeps the contract`, async () => {
      const seen = await runContract(`http://${host}:${port}`, kind);
      expect(seen).toEqual(expected);
    });
  }
});
