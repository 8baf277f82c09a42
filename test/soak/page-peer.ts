/**
 * One Chromium page of the soak, driven the way a person would: open a share link, wait until
 * every file has its save link, save each and compare its SHA-256 with the original, keep the
 * tab open a while (it seeds), press Delete, open another link. Reloads come from the schedule.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { sha } from '../helpers/sha.js';
import { STALL_MS } from './cli-peer.js';
import type { Share, SoakContext } from './context.js';

/** How long a page seeds a finished download before it deletes it. */
const SEED_FOR_MIN_MS = 10_000;
const SEED_FOR_MAX_MS = 40_000;
/** How often the page's file list is read while a download runs. */
const POLL_MS = 500;
/** Time for one save link to produce the browser's download. */
const SAVE_TIMEOUT_MS = 30_000;
/** Time for the page to load (slow while the CLI peers keep both cores busy). */
const GOTO_TIMEOUT_MS = 90_000;
/** Console lines kept for a crash report. */
const CONSOLE_LINES = 30;

type Phase = 'idle' | 'fetching' | 'saving' | 'seeding' | 'deleting';

interface FileRow {
  path: string;
  ready: boolean;
}

export class PageSlot {
  #context: BrowserContext | null = null;
  #page: Page | null = null;
  #phase: Phase = 'idle';
  #phaseAt = Date.now();
  #share: Share | null = null;
  #crashed = false;
  readonly #console: string[] = [];

  constructor(
    readonly ctx: SoakContext,
    readonly name: string,
    readonly browser: Browser,
  ) {}

  /** Reloads are scheduled only while the page is fetching or seeding, not while it saves or deletes. */
  get reloadable(): boolean {
    return this.#page !== null && !this.#crashed && (this.#phase === 'fetching' || this.#phase === 'seeding');
  }

  /** What the page is doing and showing, for the end-of-run summary. */
  async describe(): Promise<string> {
    const page = this.#page;
    if (!page || this.#crashed) return `${this.name}: no page`;
    const seconds = Math.round((Date.now() - this.#phaseAt) / 1000);
    const shown = await page
      .evaluate(() => ({
        status: document.getElementById('status')?.textContent ?? '',
        stats: document.getElementById('download-stats')?.textContent ?? '',
      }))
      .catch((err: Error) => ({ status: `(unreadable: ${err.message.split('\n')[0]})`, stats: '' }));
    const notes = this.#console.slice(-5).join('\n    ');
    return `${this.name}: ${this.#phase} ${this.#share?.name ?? ''} for ${seconds} s; status "${shown.status}"; "${shown.stats}"${notes ? `\n    ${notes}` : ''}`;
  }

  async reload(): Promise<void> {
    const page = this.#page;
    if (!page || !this.reloadable) return;
    this.ctx.tally.reloads++;
    await page
      .reload({ waitUntil: 'load', timeout: GOTO_TIMEOUT_MS })
      .catch((err: Error) => this.#note(`reload: ${err.message}`));
  }

  async #open(): Promise<Page> {
    this.#crashed = false;
    const context = await this.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    page.on('crash', () => {
      this.#crashed = true;
      this.ctx.tally.crash(this.name, 'page crashed (Page.crashed)', this.#console.join('\n'));
    });
    page.on('pageerror', (err) => this.#note(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') this.#note(`console.${msg.type()}: ${msg.text()}`);
    });
    this.#context = context;
    this.#page = page;
    return page;
  }

  #setPhase(phase: Phase): void {
    this.#phase = phase;
    this.#phaseAt = Date.now();
  }

  #note(line: string): void {
    this.#console.push(`[+${this.ctx.tally.elapsed()}] ${line}`);
    if (this.#console.length > CONSOLE_LINES) this.#console.shift();
  }

  async #rows(page: Page): Promise<FileRow[]> {
    return page.evaluate(() =>
      Array.from(document.querySelectorAll('#save-links li[data-file]')).map((li) => ({
        path: li.querySelector('.filename')?.textContent ?? '',
        ready: li.querySelector('a.save-link') !== null,
      })),
    );
  }

  /** Polls the file list until every file has a save link; false on a stall, a crash or the end of the run. */
  async #untilComplete(page: Page, share: Share): Promise<boolean> {
    const deadline = Date.now() + STALL_MS;
    while (!this.ctx.stopping && !this.#crashed) {
      // Throws while a reload replaces the document: just look again.
      const rows = await this.#rows(page).catch(() => [] as FileRow[]);
      if (rows.length === share.files.length && rows.every((r) => r.ready)) return true;
      if (Date.now() > deadline) {
        const status = await page
          .locator('#status')
          .textContent()
          .catch(() => '');
        this.ctx.tally.stall(
          this.name,
          `page download of ${share.name} not done after ${STALL_MS} ms (status: ${status})`,
          this.#console.join('\n'),
        );
        return false;
      }
      await this.ctx.sleep(POLL_MS);
    }
    return false;
  }

  /** Saves every file through its save link and compares the bytes with the original. */
  async #saveAndVerify(page: Page, share: Share, startedAt: number): Promise<void> {
    const { tally } = this.ctx;
    const completeAt = Date.now();
    const problems: string[] = [];
    for (const [index, file] of share.files.entries()) {
      const row = page.locator(`#save-links li[data-file="${index}"]`);
      const shown = await row.locator('.filename').textContent();
      const [download] = await Promise.all([
        page.waitForEvent('download', { timeout: SAVE_TIMEOUT_MS }),
        row.locator('a.save-link').click({ timeout: SAVE_TIMEOUT_MS }),
      ]);
      const path = await download.path();
      const bytes = await readFile(path);
      await download.delete();
      if (shown !== file.path) problems.push(`row ${index} shows ${shown}, want ${file.path}`);
      else if (sha(bytes) !== file.sha) problems.push(`${file.path}: ${bytes.length} bytes, SHA-256 differs`);
    }
    if (problems.length > 0) tally.corruptCopy(`${this.name} (${share.name})`, problems);
    else {
      tally.downloadsPages++;
      tally.downloadSeconds.push((completeAt - startedAt) / 1000);
    }
  }

  /** Presses Delete (shown when the page kept the download in its storage) and waits for the page to confirm. */
  async #delete(page: Page): Promise<void> {
    const button = page.locator('#delete-download');
    if (!(await button.isVisible())) return;
    await button.click();
    await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').includes('Deleted'), null, {
      timeout: 10_000,
    });
  }

  /** The page's loop, until the run stops; a crashed page is replaced by a new one. */
  async run(): Promise<void> {
    const { random } = this.ctx;
    let page = await this.#open();
    while (!this.ctx.stopping) {
      const share = random.pick(this.ctx.shares);
      try {
        if (this.#crashed) {
          await this.#context?.close().catch(() => {});
          page = await this.#open();
        }
        this.#setPhase('fetching');
        this.#share = share;
        const startedAt = Date.now();
        await page.goto(share.link, { waitUntil: 'load', timeout: GOTO_TIMEOUT_MS });
        const complete = await this.#untilComplete(page, share);
        if (complete) {
          this.#setPhase('saving');
          await this.#saveAndVerify(page, share, startedAt);
          this.#setPhase('seeding');
          await this.ctx.sleep(random.int(SEED_FOR_MIN_MS, SEED_FOR_MAX_MS));
        }
        if (this.ctx.stopping) break;
        if (this.#crashed) continue;
        this.#setPhase('deleting');
        await this.#delete(page);
        await page.goto('about:blank', { timeout: GOTO_TIMEOUT_MS });
      } catch (err) {
        if (this.ctx.stopping) break;
        // A step that failed without a crash (a save that never came, a lost context): note it
        // and start over on a fresh page so one bad state does not end the page's loop.
        this.ctx.tally.pageFailures++;
        this.ctx.tally.log(`${this.name}: ${(err as Error).message.split('\n')[0]}; opening a fresh page`);
        await this.#context?.close().catch(() => {});
        page = await this.#open();
      } finally {
        this.#setPhase('idle');
      }
    }
  }

  /** Closes the page's context. Idempotent. */
  async close(): Promise<void> {
    const context = this.#context;
    this.#context = null;
    this.#page = null;
    await context?.close().catch(() => {});
  }
}
