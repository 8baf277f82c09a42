import { randomBytes } from 'node:crypto';
import { concatBytes, discoveryKeyOf, RingswarmClient, readAllPieces } from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeChecked } from '../helpers/leak-check.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

describe('two Node peers over real WebRTC', () => {
  let server: RunningServer;
  const clients: RingswarmClient[] = [];

  beforeEach(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' }, { logger: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await closeChecked(server);
  });

  it('moves a 4 MiB random file from seeder to leecher, bytes identical', async () => {
    const data = new Uint8Array(randomBytes(4 * 1024 * 1024));
    const { manifest, infoHash, store, have } = await seedable('random.bin', data);

    const seeder = new RingswarmClient({ trackerUrl: server.url, wrtc });
    const leecher = new RingswarmClient({ trackerUrl: server.url, wrtc });
    clients.push(seeder, leecher);
    const seeding = await seeder.seed(manifest, store, have);
    expect(seeding.done).toBe(true);

    const download = leecher.download(infoHash);
    const started = Date.now();
    await waitFor(download, 'done', 45_000);
    const ms = Date.now() - started;

    expect(download.manifest).toEqual(manifest);
    const received = concatBytes(await readAllPieces(manifest, download.store));
    expect(received.length).toBe(data.length);
    expect(sha(received)).toBe(sha(data));
    expect(download.stats().downloaded).toBe(data.length);
    console.log(`4 MiB Node-to-Node transfer: ${ms} ms`);

    // The leecher now counts as a seeder at the tracker.
    await expect
      .poll(() => server.registry.counts(discoveryKeyOf(infoHash)), { timeout: 5_000 })
      .toEqual({ complete: 2, incomplete: 0, downloaded: 1 });
    // Signaling only: the tracker relayed a few kilobytes, not the file.
    expect(server.traffic.transportIn + server.traffic.transportOut).toBeLessThan(data.length / 100);
  });
});
