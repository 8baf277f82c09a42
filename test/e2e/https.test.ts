import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstSaveLink, launchChromium, openPage, saveBytes, shareBytes } from '../helpers/pages.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';

const FILE_SIZE = 4 * 1024 * 1024;

describe('npm start --https: two Chromium pages share a file over https and wss', () => {
  let server: ServerProcess;
  let browser: Browser;
  let configDir: string;

  beforeAll(async () => {
    configDir = await mkdtemp(join(tmpdir(), 'ringswarm-https-e2e-'));
    // Bound to localhost: the page's origin, the certificate's name and the link all say localhost.
    server = await startServerProcess(['--https', '--host', 'localhost'], (command, args) =>
      spawn(command, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, RINGSWARM_CONFIG_DIR: configDir },
      }),
    );
    // The certificate is self-signed: the browser is told to accept it, as a person clicking through the warning.
    browser = await launchChromium(['--ignore-certificate-errors']);
  });

  afterAll(async () => {
    await browser?.close();
    const code = await server?.stop();
    await rm(configDir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it('page B downloads the file page A picked, byte for byte, with the page over TLS and the tracker on wss', async () => {
    expect(server.url).toMatch(/^https:\/\/localhost:\d+$/);
    const data = new Uint8Array(randomBytes(FILE_SIZE));
    const sockets: string[] = [];

    const pageA = await openPage(browser, 'page A', {});
    pageA.on('websocket', (ws) => sockets.push(ws.url()));
    const response = await pageA.goto(server.url);
    expect((await response!.securityDetails())?.protocol).toMatch(/^TLS/);
    expect(await pageA.evaluate(() => window.isSecureContext)).toBe(true);
    const shareUrl = await shareBytes(pageA, 'over-tls.bin', data);
    expect(shareUrl.startsWith('https://')).toBe(true);

    const pageB = await openPage(browser, 'page B');
    pageB.on('websocket', (ws) => sockets.push(ws.url()));
    await pageB.goto(shareUrl);
    const saved = await saveBytes(pageB, await firstSaveLink(pageB));
    expect(saved.name).toBe('over-tls.bin');
    expect(saved.bytes.length).toBe(FILE_SIZE);
    expect(sha(saved.bytes)).toBe(sha(data));

    // Both pages reached the tracker over wss, and never over plain ws.
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    for (const url of sockets) expect(url).toMatch(/^wss:\/\/localhost:\d+\/socket\.io\//);
    for (const page of [pageA, pageB]) await page.context().close();
  });
});
