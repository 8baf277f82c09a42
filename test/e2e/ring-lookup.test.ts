/**
 * A ring lookup drawn hop by hop, in Chromium pages that form one ring of four: from the
 * Network view, a key typed in "Look up a key" (checked first: a bad one is refused with a
 * message) and a file-name search are drawn on the ring, one arrow per hop the lookup reports,
 * with the same hops as text; the drawing stays while the ring is redrawn, until the next lookup.
 */
import { randomBytes } from 'node:crypto';
import type { RingStats } from '@ringswarm/shared';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openPage, searchByName, serverAndChromium } from '../helpers/pages.js';

/** Pages in the ring: the one that looks up and three others. */
const MEMBERS = 4;
/** How long the pages may take to form one ring in which every page knows all the others. */
const RING_WITHIN_MS = 20_000;

interface RingPage {
  ringswarm?: { client: { ringStats(): RingStats | null } };
}

/** What the page shows of its last lookup. */
interface DrawnLookup {
  state: string | null;
  /** The hop count the page reports (`data-hops`, from the lookup's result). */
  reported: number | null;
  /** Hops drawn on the ring. */
  drawn: number;
  hops: string[];
  summary: string;
}

function drawnLookup(page: Page): Promise<DrawnLookup> {
  return page.evaluate(() => {
    const box = document.getElementById('lookup-trace')!;
    const hops = box.dataset.hops;
    return {
      state: box.dataset.state ?? null,
      reported: hops === undefined ? null : Number(hops),
      drawn: document.querySelectorAll('#ring-svg [data-hop]').length,
      hops: Array.from(document.querySelectorAll('#lookup-hops li'), (li) => li.textContent ?? ''),
      summary: document.getElementById('lookup-summary')!.textContent ?? '',
    };
  });
}

/** Waits for the lookup the page shows to end, and checks that what it drew matches what it reports. */
async function endedLookup(page: Page): Promise<DrawnLookup> {
  await expect.poll(async () => (await drawnLookup(page)).state, { timeout: 15_000 }).toMatch(/^(done|failed)$/);
  const shown = await drawnLookup(page);
  expect(shown.reported).not.toBeNull();
  expect(shown.drawn).toBe(shown.reported);
  expect(shown.hops).toHaveLength(shown.drawn);
  shown.hops.forEach((text, i) => {
    expect(text).toMatch(new RegExp(`^hop ${i + 1}: [0-9a-f]{8} → ([0-9a-f]{8}|no closer node)`));
  });
  return shown;
}

describe('a ring lookup drawn hop by hop on the Network view', () => {
  const env = serverAndChromium();

  it("draws each hop of a key's lookup and of a name search as the page reports them", async () => {
    const pages = await Promise.all(
      Array.from({ length: MEMBERS }, async (_, i) => {
        const page = await openPage(env.browser, `member ${i}`, {});
        await page.goto(env.server.url);
        return page;
      }),
    );
    const looker = pages[0]!;
    // Once the looker knows all three others, its predecessor is the last of its successors: a
    // key there is past the half of the list it trusts alone, so the lookup asks another node.
    const ringStats = () =>
      looker.evaluate(() => (window as unknown as RingPage).ringswarm?.client.ringStats() ?? null);
    await expect
      .poll(
        async () => {
          const stats = await ringStats();
          return stats?.predecessor ? stats.successors.length : 0;
        },
        { timeout: RING_WITHIN_MS, interval: 250 },
      )
      .toBe(MEMBERS - 1);
    const key = (await ringStats())?.predecessor;
    if (!key) throw new Error('the looker lost its predecessor');

    await looker.locator('#view-network').click();
    const input = looker.locator('#lookup-key');
    const message = looker.locator('#lookup-message');
    // A bad key is refused with a message, and nothing is looked up.
    await input.fill('not-a-key');
    await looker.locator('#lookup-button').click();
    expect(await message.getAttribute('data-state')).toBe('invalid');
    expect(await message.textContent()).toMatch(/only the digits 0–9 and the letters a–f/);
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    expect(await looker.locator('#lookup-trace').getAttribute('data-state')).toBe('idle');

    await input.fill(key.toUpperCase());
    await looker.locator('#lookup-button').click();
    const byKey = await endedLookup(looker);
    expect(await input.getAttribute('aria-invalid')).toBeNull();
    expect(byKey.state).toBe('done');
    expect(byKey.drawn).toBeGreaterThanOrEqual(1);
    expect(byKey.summary).toContain(
      `Owner of key ${key.slice(0, 8)}: ${key.slice(0, 8)}, found in ${byKey.reported} hop`,
    );
    // The last hop names the owner, the predecessor.
    expect(byKey.hops.at(-1)).toMatch(new RegExp(`→ ${key.slice(0, 8)} \\(named as the owner\\)$`));

    // The ring is redrawn every second; the lookup stays on it.
    await looker.evaluate(() => document.querySelector('#ring-svg .ring-track')?.setAttribute('data-old', ''));
    await expect.poll(() => looker.locator('#ring-svg .ring-track[data-old]').count(), { timeout: 5_000 }).toBe(0);
    expect(await drawnLookup(looker)).toEqual(byKey);

    // A name search runs a lookup too, drawn in place of the last one.
    const answer = await searchByName(looker, `nothing-${randomBytes(4).toString('hex')}.bin`);
    expect(answer.state).toBe('none');
    const byName = await endedLookup(looker);
    expect(byName.state).toBe('done');
    expect(byName.summary).toMatch(/^Owner of the file name nothing-[0-9a-f]{8}\.bin: [0-9a-f]{8}/);
    await Promise.all(pages.map((p) => p.context().close()));
  }, 45_000);
});
