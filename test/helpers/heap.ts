import type { Page } from 'playwright-core';

export interface HeapPeak {
  /** Largest V8 heap in use seen (`Runtime.getHeapUsage` usedSize), bytes. */
  heapBytes: number;
  /** Largest heap plus ArrayBuffer backing stores seen (usedSize + backingStorageSize), bytes. */
  heapWithBuffersBytes: number;
  samples: number;
}

/**
 * Samples a page's JS heap through the DevTools protocol every `intervalMs` until stopped.
 * ArrayBuffer contents live outside the V8 heap proper, so the backing stores are counted
 * too: a download held in Uint8Arrays shows up here.
 */
export async function sampleHeap(page: Page, intervalMs = 200): Promise<{ stop(): Promise<HeapPeak> }> {
  const cdp = await page.context().newCDPSession(page);
  const peak: HeapPeak = { heapBytes: 0, heapWithBuffersBytes: 0, samples: 0 };
  const sample = async () => {
    const usage = await cdp.send('Runtime.getHeapUsage');
    peak.heapBytes = Math.max(peak.heapBytes, usage.usedSize);
    peak.heapWithBuffersBytes = Math.max(peak.heapWithBuffersBytes, usage.usedSize + (usage.backingStorageSize ?? 0));
    peak.samples++;
  };
  await sample();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, intervalMs));
      if (!stopped) await sample().catch(() => {});
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await sample().catch(() => {});
      await cdp.detach().catch(() => {});
      return peak;
    },
  };
}
