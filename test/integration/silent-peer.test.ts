/**
 * A peer that passes the swarm handshake and the capability proof and then stops answering
 * (issue 18) must cost a download one timeout at most: over real WebRTC, a leecher whose
 * first peer is silent still gets the manifest and every byte from the honest seeders.
 */
import { randomBytes } from 'node:crypto';
import {
  BLOCK_REQUEST_TIMEOUT_MS,
  ErrorCode,
  encodeManifest,
  METADATA_CHUNK_LENGTH,
  METADATA_REQUEST_TIMEOUT_MS,
  RingswarmClient,
  readAllPieces,
  type Swarm,
} from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeChecked } from '../helpers/leak-check.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { sleep, until, waitFor } from '../helpers/until.js';
import { WirePeer } from '../helpers/wire-peer.js';
import { wrtc } from '../helpers/wrtc.js';

const MiB = 1024 * 1024;
/** Time for two seeders to connect and move a few MiB on loopback, on a busy machine. */
const TRANSFER_MS = 20_000;

const bytesOf = async (swarm: Swarm) => Buffer.concat(await readAllPieces(swarm.manifest!, swarm.store));

describe('a silent peer among honest seeders, over real WebRTC', () => {
  let server: RunningServer;
  const clients: RingswarmClient[] = [];
  const peers: WirePeer[] = [];
  const client = () => {
    const c = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' }, { logger: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    for (const c of clients.splice(0)) c.destroy();
    await closeChecked(server);
  });

  /**
   * A leecher whose only peer, at first, is a hand-made one that proved the capability;
   * `behave` sets what it does before the link opens.
   */
  async function leecherWithSilentPeer(infoHash: string, behave: (silent: WirePeer) => void = () => {}) {
    const leecherClient = client();
    const leecher = leecherClient.download(infoHash);
    const warnings: [string, string][] = [];
    leecher.on('warning', (err, remoteId) => warnings.push([err.code, remoteId]));
    const silent = new WirePeer(server.url, infoHash);
    peers.push(silent);
    behave(silent);
    await until(async () => (await silent.announce()).includes(leecherClient.peerId), 10_000, 'the leecher announced');
    await silent.open(leecherClient.peerId, wrtc);
    await until(() => leecher.stats().peers === 1, 10_000, 'the leecher to count the silent peer');
    return { leecher, silent, warnings };
  }

  /** Two honest seeders of `data`, each limited to `upload` bytes per second (null: unlimited). */
  async function seeders(seed: Awaited<ReturnType<typeof seedable>>, upload: number | null) {
    for (let i = 0; i < 2; i++) {
      const seeding = await client().seed(seed.manifest, seed.store, seed.have);
      seeding.setRateLimits({ upload });
    }
  }

  it('that never answers: the manifest and the file come from the seeders within one timeout', async () => {
    const data = new Uint8Array(randomBytes(4 * MiB));
    const seed = await seedable('data.bin', data);
    const { leecher, silent, warnings } = await leecherWithSilentPeer(seed.infoHash);
    // The leecher asked the silent peer (its only peer) for the manifest.
    await until(() => silent.received('metadata-request').length > 0, 10_000, 'the manifest request');
    const asked = Date.now();

    await seeders(seed, null);
    await waitFor(leecher, 'done', METADATA_REQUEST_TIMEOUT_MS + TRANSFER_MS);
    const elapsed = Date.now() - asked;
    console.log(`silent peer at the manifest: done ${elapsed} ms after the request it never answered`);
    expect(elapsed).toBeLessThan(METADATA_REQUEST_TIMEOUT_MS + TRANSFER_MS);
    expect(sha(await bytesOf(leecher))).toBe(sha(data));
    expect(leecher.stats().snubbed).toBe(1);
    expect(warnings).toContainEqual([ErrorCode.PEER_TIMEOUT, silent.peerId]);
    // Asked once and never again, blocks included; snubbed, not closed.
    expect(silent.received('metadata-request')).toHaveLength(1);
    expect(silent.received('request')).toEqual([]);
    expect(leecher.peerIds).toContain(silent.peerId);
  }, 90_000);

  it('that serves the manifest but not its blocks: they are asked of the seeders after one timeout', async () => {
    const data = new Uint8Array(randomBytes(6 * MiB));
    const seed = await seedable('data.bin', data);
    const encoded = encodeManifest(seed.manifest);
    // It answers manifest requests, says it has every piece and unchokes, then ignores requests.
    const { leecher, silent, warnings } = await leecherWithSilentPeer(seed.infoHash, (silent) => {
      silent.onMessage = (msg) => {
        if (msg.type !== 'metadata-request') return;
        const begin = msg.chunk * METADATA_CHUNK_LENGTH;
        silent.send({
          type: 'metadata-data',
          chunk: msg.chunk,
          total: encoded.length,
          data: encoded.subarray(begin, begin + METADATA_CHUNK_LENGTH),
        });
      };
    });
    silent.send({ type: 'bitfield', bits: seed.have.bytes });
    silent.send({ type: 'unchoke' });
    await until(() => silent.received('request').length > 0, 15_000, 'block requests to the silent peer');
    const asked = Date.now();
    await sleep(500); // the rest of the pipeline, sent with the first
    const heldBySilent = silent.received('request').length;
    expect(leecher.manifest).not.toBeNull();

    // Seeders slow enough that the file takes longer than a block timeout: the silent peer's
    // blocks must move to them when its timeout passes, not when the rest is done.
    const upload = 192 * 1024;
    await seeders(seed, upload);
    await sleep(Math.max(0, asked + BLOCK_REQUEST_TIMEOUT_MS + 3_000 - Date.now()));
    expect(leecher.done).toBe(false);
    const silentNow = leecher.peerStats().find((p) => p.remoteId === silent.peerId);
    expect(silentNow).toMatchObject({ snubbed: true, inflight: 0 });
    expect(leecher.stats().snubbed).toBe(1);
    expect(warnings).toContainEqual([ErrorCode.PEER_TIMEOUT, silent.peerId]);

    const transferMs = (data.length / (2 * upload)) * 1000;
    await waitFor(leecher, 'done', BLOCK_REQUEST_TIMEOUT_MS + transferMs + TRANSFER_MS);
    const elapsed = Date.now() - asked;
    console.log(
      `silent peer at the blocks: ${heldBySilent} requests held, done ${elapsed} ms after them (transfer alone ${Math.round(transferMs)} ms)`,
    );
    expect(elapsed).toBeLessThan(BLOCK_REQUEST_TIMEOUT_MS + transferMs + TRANSFER_MS);
    expect(sha(await bytesOf(leecher))).toBe(sha(data));
    // Nothing more was asked of it once it was snubbed.
    expect(silent.received('request')).toHaveLength(heldBySilent);
  }, 120_000);
});
