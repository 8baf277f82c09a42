/**
 * The built page under the server's Content-Security-Policy: a share and a download, on
 * localhost (a secure context: WebCrypto, OPFS) and on plain HTTP (the hashing fallback in
 * the worker compiles WebAssembly, IndexedDB storage), raise no `securitypolicyviolation`
 * event in the page and log no CSP refusal (the worker's console included), and the bytes
 * arrive whole. The page's and the worker's answers carry the policy, so the test means
 * something: without it there would be nothing to violate.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstSaveLink, launchChromium, openPage, saveBytes, shareBytes } from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const TEST_HOST = 'ringswarm.test';

interface Violation {
  directive: string;
  blocked: string;
  source: string;
}

/** A page that records every CSP violation it sees, from before its first script runs. */
async function watchedPage(browser: Browser, label: string): Promise<{ page: Page; console: string[] }> {
  const page = await openPage(browser, label);
  const console: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) console.push(`${label}: ${message.text()}`);
  });
  page.on('worker', (worker) => {
    worker.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) console.push(`${label} worker: ${message.text()}`);
    });
  });
  await page.addInitScript(() => {
    const seen: { directive: string; blocked: string; source: string }[] = [];
    (window as unknown as { cspViolations: typeof seen }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI, source: `${e.sourceFile}:${e.lineNumber}` });
    });
  });
  return { page, console };
}

const violations = (page: Page) =>
  page.evaluate(() => (window as unknown as { cspViolations: Violation[] }).cspViolations);

describe('the built page under the Content-Security-Policy', () => {
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServerProcess();
    browser = await launchChromium([`--host-resolver-rules=MAP ${TEST_HOST} 127.0.0.1`]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  for (const where of ['localhost', 'plain HTTP'] as const) {
    it(`shares and downloads on ${where} with no violation`, async () => {
      const origin = where === 'localhost' ? server.url : `http://${TEST_HOST}:${new URL(server.url).port}`;
      const seeder = await watchedPage(browser, 'seeder');
      const leecher = await watchedPage(browser, 'leecher');
      const policies: string[] = [];
      seeder.page.on('response', (res) => {
        const policy = res.headers()['content-security-policy'];
        if (res.url().startsWith(origin) && policy) policies.push(new URL(res.url()).pathname);
      });
      const loaded = await seeder.page.goto(origin);
      expect(loaded?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");

      const data = new Uint8Array(randomBytes(3 * 1024 * 1024));
      const link = await shareBytes(seeder.page, `csp-${where === 'localhost' ? 'local' : 'plain'}.bin`, data);
      // The hash worker's script came with the policy too (it governs the worker).
      expect(policies.some((p) => /^\/assets\/hash-worker-.*\.js$/.test(p))).toBe(true);

      await leecher.page.goto(link);
      const saved = await saveBytes(leecher.page, await firstSaveLink(leecher.page));
      expect(sha(saved.bytes)).toBe(sha(data));

      expect(await violations(seeder.page)).toEqual([]);
      expect(await violations(leecher.page)).toEqual([]);
      expect([...seeder.console, ...leecher.console]).toEqual([]);
      await seeder.page.context().close();
      await leecher.page.context().close();
    });
  }

  it('another site cannot frame the page (frame-ancestors): Chromium blocks it and says why', async () => {
    // A page of another origin that frames the app, the way a clickjacking page would.
    const framer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<iframe src="${server.url}/"></iframe>`);
    });
    await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve));
    try {
      const { page, console } = await watchedPage(browser, 'framer');
      const port = (framer.address() as AddressInfo).port;
      await page.goto(`http://127.0.0.1:${port}/`);
      await expect
        .poll(() => console.some((line) => /frame-ancestors 'none'/.test(line)), { timeout: 15_000 })
        .toBe(true);
      // The frame shows Chromium's error page, never the app's document.
      expect(page.frames().map((f) => f.url())).toContain('chrome-error://chromewebdata/');
      expect(page.frames().some((f) => f.url().startsWith(server.url))).toBe(false);
      await page.context().close();
    } finally {
      framer.close();
    }
  });
});
