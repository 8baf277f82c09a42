/**
 * The page keeps its peer ID (issue 17): one identity per browser profile in IndexedDB, so a
 * reload comes back as the same peer; a second tab of the profile, while the first holds the
 * identity's Web Lock, is another peer (two tabs on one ID would replace each other's tracker
 * socket). Real Chromium against the built page and env.server.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { serverAndChromium } from '../helpers/pages.js';

const peerIdOf = async (page: Page): Promise<string> => {
  await page.waitForFunction(() => (window as unknown as { ringswarm?: unknown }).ringswarm !== undefined, null, {
    timeout: 30_000,
  });
  return page.evaluate(
    () => (window as unknown as { ringswarm: { client: { peerId: string } } }).ringswarm.client.peerId,
  );
};

describe('page identity (Chromium)', () => {
  const env = serverAndChromium();

  it('keeps the peer ID across a reload; a second tab of the profile gets another one', async () => {
    const context = await env.browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(env.server.url);
      const id = await peerIdOf(page);
      expect(id).toMatch(/^[0-9a-f]{40}$/);
      // Secure context (loopback): the key is a non-extractable WebCrypto key, not a seed.
      const stored = await page.evaluate(
        () =>
          new Promise<string>((resolve, reject) => {
            const open = indexedDB.open('ringswarm-identity');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const get = open.result.transaction('identity').objectStore('identity').get('self');
              get.onsuccess = () => {
                const value = get.result as { keys?: CryptoKeyPair; seed?: Uint8Array } | undefined;
                open.result.close();
                resolve(
                  value?.keys ? `keys extractable=${value.keys.privateKey.extractable}` : value?.seed ? 'seed' : 'none',
                );
              };
            };
          }),
      );
      expect(stored).toBe('keys extractable=false');

      await page.reload();
      expect(await peerIdOf(page)).toBe(id);

      const second = await context.newPage();
      await second.goto(env.server.url);
      const other = await peerIdOf(second);
      expect(other).toMatch(/^[0-9a-f]{40}$/);
      expect(other).not.toBe(id);
      // The first tab is untouched by the second: both stay connected to the tracker.
      const stats = async () => (await (await fetch(`${env.server.url}/api/stats`)).json()) as { connections: number };
      await expect.poll(async () => (await stats()).connections, { timeout: 10_000 }).toBe(2);
    } finally {
      await context.close();
    }
  });
});
