/**
 * Manifest requests must not amplify (issue 18): a 5-byte request once bought 16 KiB outside
 * every limit, so a seeder limited to 1 KiB/s sent 31 MiB in about a second to a choked peer.
 * Over real WebRTC, a peer that holds the link floods a limited seeder with manifest requests;
 * what reaches it is counted from the frames it receives.
 */
import { randomBytes } from 'node:crypto';
import { encodeManifest, RingswarmClient, readAllPieces, type Swarm } from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeChecked } from '../helpers/leak-check.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { sleep, waitFor } from '../helpers/until.js';
import { WirePeer } from '../helpers/wire-peer.js';
import { wrtc } from '../helpers/wrtc.js';

const KiB = 1024;
const bytesOf = async (swarm: Swarm) => Buffer.concat(await readAllPieces(swarm.manifest!, swarm.store));

describe('manifest requests to a rate-limited seeder, over real WebRTC', () => {
  let server: RunningServer;
  const clients: RingswarmClient[] = [];
  const peers: WirePeer[] = [];

  beforeEach(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' }, { logger: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    for (const c of clients.splice(0)) c.destroy();
    await closeChecked(server);
  });

  it('a peer flooding tiny manifest requests from its first, choked moment gets no more than the upload limit allows', async () => {
    // 64 pieces of 16 KiB: a manifest of a few KiB, every byte of it one request away.
    const data = new Uint8Array(randomBytes(64 * 16 * KiB));
    const seed = await seedable('data.bin', data, 16 * KiB);
    const manifestBytes = encodeManifest(seed.manifest).length;
    expect(manifestBytes).toBeGreaterThan(4 * KiB);
    const seederClient = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(seederClient);
    const seeding = await seederClient.seed(seed.manifest, seed.store, seed.have);
    const rate = 1 * KiB;
    seeding.setRateLimits({ upload: rate });

    const attacker = new WirePeer(server.url, seed.infoHash);
    peers.push(attacker);
    // seed() does not wait for the tracker to take the seeder's first announce: ask until it has.
    await expect.poll(() => attacker.announce(), { timeout: 10_000, interval: 200 }).toContain(seederClient.peerId);
    await attacker.open(seederClient.peerId, wrtc);
    // It never says "interested" and is choked when it starts: 20 requests every 50 ms for 6 s.
    const start = Date.now();
    let sent = 0;
    while (Date.now() - start < 6_000) {
      for (let i = 0; i < 20; i++) attacker.send({ type: 'metadata-request', chunk: 0 });
      sent += 20;
      await sleep(50);
    }
    await sleep(500); // what the seeder sent before the flood ended, still on its way
    const seconds = (Date.now() - start) / 1000;

    const received = attacker.received('metadata-data').reduce((sum, m) => sum + m.data.length, 0);
    // A token bucket saves up half a second's worth, and lets one message go into debt.
    const allowance = rate * seconds + rate / 2 + manifestBytes;
    console.log(
      `manifest flood: ${received} bytes in ${seconds.toFixed(1)} s at ${rate} B/s (allowance ${Math.round(allowance)}), ${seeding.stats().metadataDropped} of ${sent} requests dropped`,
    );
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThanOrEqual(allowance);
    // The flood was dropped, not queued (some of it may still be on its way to the seeder).
    expect(seeding.stats().metadataDropped).toBeGreaterThan(sent / 2);

    // The seeder still serves an honest leecher, byte for byte (its limit lifted, to be quick).
    seeding.setRateLimits({ upload: null });
    const leecherClient = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(leecherClient);
    const leecher = leecherClient.download(seed.infoHash);
    await waitFor(leecher, 'done', 30_000);
    expect(sha(await bytesOf(leecher))).toBe(sha(data));
  }, 90_000);
});
