/**
 * The browser benchmarks' page drivers: a ringswarm page and a WebTorrent page (the anchor's
 * wt.html) that seed a file, and their downloading counterparts, timed from opening the
 * link (adding the magnet) to the first verified piece and to the end.
 */
import type { Browser, Page } from 'playwright-core';

/** How long to wait for a page, and how often to look. */
export interface PageWait {
  timeoutMs: number;
  pollMs: number;
}

/** Milliseconds from opening the link to the first verified piece and to the whole file. */
export interface DownloadTimes {
  firstPieceMs: number;
  doneMs: number;
}

/** Runs `use` on a page in a fresh browser context, closed afterwards. */
export async function inNewPage<T>(browser: Browser, use: (page: Page) => Promise<T>): Promise<T> {
  const page = await (await browser.newContext()).newPage();
  try {
    return await use(page);
  } finally {
    await page.context().close();
  }
}

/**
 * Opens our page in a new context, shares `file` and waits for the share link. With
 * `uploadLimit` (bytes per second) the page's client is rate limited.
 */
export async function ourSeeder(
  browser: Browser,
  url: string,
  file: string,
  options: { timeoutMs: number; uploadLimit?: number | null },
): Promise<{ page: Page; link: string }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url);
  await page.setInputFiles('#file-input', file);
  await page.waitForFunction(
    () => (document.getElementById('share-link') as HTMLInputElement).value.includes('#'),
    null,
    { timeout: options.timeoutMs },
  );
  const limit = options.uploadLimit ?? null;
  if (limit !== null) {
    await page.evaluate(
      (upload) =>
        (
          window as unknown as { ringswarm: { client: { setRateLimits(l: { upload: number }): void } } }
        ).ringswarm.client.setRateLimits({ upload }),
      limit,
    );
  }
  return { page, link: await page.inputValue('#share-link') };
}

/**
 * The same share link on another origin of the same server (`http://localhost:port`): the
 * link names the server's LAN address, where the page is plain HTTP.
 */
export const onOrigin = (link: string, origin: string): string => origin + link.slice(new URL(link).origin.length);

/** Opens a share link in `page` and waits until the download bar is full. */
export async function ourDownload(page: Page, link: string, wait: PageWait): Promise<DownloadTimes> {
  const started = Date.now();
  await page.goto(link);
  // Function predicates, not strings: the page's CSP forbids evaluating a string.
  const atLeast = (min: number) => (document.getElementById('download-progress') as HTMLProgressElement).value >= min;
  await page.waitForFunction(atLeast, Number.MIN_VALUE, { timeout: wait.timeoutMs, polling: wait.pollMs });
  const firstPieceMs = Date.now() - started;
  await page.waitForFunction(atLeast, 1, { timeout: wait.timeoutMs, polling: wait.pollMs });
  return { firstPieceMs, doneMs: Date.now() - started };
}

/** Opens the WebTorrent page in a new context, seeds `file` and returns its magnet link. */
export async function wtSeeder(
  browser: Browser,
  pageUrl: string,
  file: string,
): Promise<{ page: Page; magnet: string }> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(pageUrl);
  await page.waitForFunction(() => (window as unknown as { wtReady?: boolean }).wtReady === true);
  await page.setInputFiles('#file-input', file);
  const magnet = await page.evaluate(() => (window as unknown as { wt: { seed(): Promise<string> } }).wt.seed());
  return { page, magnet };
}

/** Opens the WebTorrent page in `page`, adds `magnet` and waits for WebTorrent's `done`; times as the page took them. */
export async function wtDownload(page: Page, pageUrl: string, magnet: string, wait: PageWait): Promise<DownloadTimes> {
  await page.goto(pageUrl);
  await page.waitForFunction(() => (window as unknown as { wtReady?: boolean }).wtReady === true);
  await page.evaluate((m) => (window as unknown as { wt: { download(m: string): void } }).wt.download(m), magnet);
  const times = () => (window as unknown as { wtTimes?: { firstPiece?: number; done?: number } }).wtTimes;
  await page.waitForFunction(`(${times})()?.done !== undefined`, null, {
    timeout: wait.timeoutMs,
    polling: wait.pollMs,
  });
  const t = (await page.evaluate(`(${times})()`)) as { firstPiece: number; done: number };
  return { firstPieceMs: t.firstPiece, doneMs: t.done };
}
