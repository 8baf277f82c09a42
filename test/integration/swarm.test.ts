import { randomBytes } from 'node:crypto';
import {
  capabilityProof,
  decodeMessage,
  discoveryKeyOf,
  ErrorCode,
  encodeMessage,
  isSwarmFrame,
  PeerLink,
  ReaderPieceStore,
  RingswarmClient,
  randomIdentity,
  readAllPieces,
  type Swarm,
  TrackerClient,
  WIRE_VERSION,
} from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeChecked } from '../helpers/leak-check.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { feedVerified, signOutgoing } from '../helpers/signed-signals.js';
import { until, waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const MiB = 1024 * 1024;
const bytesOf = async (swarm: Swarm) => Buffer.concat(await readAllPieces(swarm.manifest!, swarm.store));

describe('swarms of Node peers over real WebRTC', () => {
  let server: RunningServer;
  const clients: RingswarmClient[] = [];
  const client = () => {
    const c = new RingswarmClient({ trackerUrl: server.url, wrtc });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await startServer({ port: 0, host: '127.0.0.1' }, { logger: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await closeChecked(server);
  });

  it('1 seeder and 5 leechers of 32 MiB all finish identical, trading pieces among themselves', async () => {
    const data = new Uint8Array(randomBytes(32 * MiB));
    const seed = await seedable('big.bin', data);
    const seeding = await client().seed(seed.manifest, seed.store, seed.have);
    // A seeder slower than the leechers' links: they must get much from each other.
    seeding.setRateLimits({ upload: 16 * MiB });
    const leechers = Array.from({ length: 5 }, () => client().download(seed.infoHash));
    await Promise.all(leechers.map((l) => waitFor(l, 'done', 90_000)));

    for (const l of leechers) expect(sha(await bytesOf(l))).toBe(sha(data));
    const seederId = clients[0]!.peerId;
    let fromSeeder = 0;
    let fromLeechers = 0;
    for (const l of leechers) {
      let mine = 0;
      for (const p of l.peerStats()) {
        if (p.remoteId === seederId) fromSeeder += p.downloaded;
        else {
          fromLeechers += p.downloaded;
          mine += p.downloaded;
        }
      }
      expect(mine).toBeGreaterThan(0);
    }
    console.log(
      `32 MiB to 5 leechers: ${(fromLeechers / MiB).toFixed(1)} MiB between leechers, ${(fromSeeder / MiB).toFixed(1)} MiB from the seeder`,
    );
    expect(fromLeechers / (fromLeechers + fromSeeder)).toBeGreaterThan(0.4);
  }, 120_000);

  it('bans a peer that flips bits in its pieces, and still downloads the right bytes', async () => {
    const data = new Uint8Array(randomBytes(4 * MiB));
    const seed = await seedable('data.bin', data);
    const corrupt = data.slice();
    for (let i = 100; i < corrupt.length; i += 16 * 1024) corrupt[i]! ^= 0x40;
    const liarStore = new ReaderPieceStore(seed.manifest, async (o, n) => corrupt.subarray(o, o + n));
    const liar = client();
    await liar.seed(seed.manifest, liarStore, seed.have);
    const honest = await client().seed(seed.manifest, seed.store, seed.have);
    honest.setRateLimits({ upload: 2 * MiB });

    const leecher = client().download(seed.infoHash);
    const closed: [string, string | undefined][] = [];
    leecher.on('peer-closed', (id, code) => closed.push([id, code]));
    await waitFor(leecher, 'done', 60_000);

    expect(sha(await bytesOf(leecher))).toBe(sha(data));
    expect(closed).toContainEqual([liar.peerId, ErrorCode.BAD_PIECE]);
  }, 90_000);

  it('keeps going when the seeder leaves mid-transfer and the others hold every piece', async () => {
    const data = new Uint8Array(randomBytes(8 * MiB));
    const seed = await seedable('data.bin', data);
    const seederClient = client();
    const seeding = await seederClient.seed(seed.manifest, seed.store, seed.have);
    const first = client().download(seed.infoHash);
    await waitFor(first, 'done', 60_000);
    // Both complete peers serve slowly, so the second leecher is mid-way when the seeder goes.
    seeding.setRateLimits({ upload: 2 * MiB });
    first.setRateLimits({ upload: 2 * MiB });

    const second = client().download(seed.infoHash);
    await until(() => second.stats().piecesHave >= 20, 60_000, 'the second leecher to be under way');
    expect(second.done).toBe(false);
    seederClient.destroy();
    await waitFor(second, 'done', 60_000);
    expect(sha(await bytesOf(second))).toBe(sha(data));
  }, 120_000);

  it('closes the link of a peer that asks for a piece out of range, and keeps serving', async () => {
    const data = new Uint8Array(randomBytes(1 * MiB));
    const seed = await seedable('data.bin', data);
    const seeder = client();
    const seeding = await seeder.seed(seed.manifest, seed.store, seed.have);

    // A hand-made peer: its own tracker connection and link, speaking raw frames. It holds
    // the link (the infohash), so it passes the capability check honestly, then misbehaves.
    const attackerKey = randomIdentity();
    const attackerId = attackerKey.peerId;
    const warnings: [string, string][] = [];
    seeding.on('warning', (err, remoteId) => warnings.push([err.code, remoteId]));
    const tracker = new TrackerClient(server.url, attackerKey);
    const link = new PeerLink(seeder.peerId, { initiator: true, wrtc });
    try {
      // Peer signaling is signed by its origin, under a session id (see net/signal-router.ts).
      const sid = randomBytes(8).toString('hex');
      signOutgoing(link, attackerKey, seeder.peerId, sid, (envelope, refused) =>
        tracker.signal(seeder.peerId, envelope, refused),
      );
      tracker.on('signal', ({ from, data }) => feedVerified(link, from, data, seeder.peerId, attackerId, sid));
      await tracker.announce({
        discoveryKey: discoveryKeyOf(seed.infoHash),
        event: 'started',
        left: null,
        uploaded: 0,
        downloaded: 0,
        // The answer names the seeder: the tracker relays only between peers it introduced.
        numwant: 1,
      });
      await waitFor(link, 'connect', 20_000);
      const closed = waitFor(link, 'close', 20_000);
      const discoveryKey = discoveryKeyOf(seed.infoHash);
      const nonce = new Uint8Array(randomBytes(32));
      const received: string[] = [];
      link.on('frame', (frame) => {
        if (!isSwarmFrame(frame)) return; // the seeder, a ring member, says HELLO first
        const msg = decodeMessage(frame);
        received.push(msg.type);
        // The bad request goes once the seeder let us in: sent with the proof, it could be
        // read while the proof is still being checked.
        if (msg.type === 'bitfield') {
          link.send(encodeMessage({ type: 'request', index: 1_000_000, begin: 0, length: 16 * 1024 }));
          return;
        }
        if (msg.type !== 'handshake') return;
        // We sent the first handshake (the opener) and made the WebRTC offer (the initiator).
        const fp = link.fingerprints();
        if (!fp) throw new Error('the link has no DTLS fingerprints');
        const transcript = {
          discoveryKey,
          initiatorFingerprint: fp.local,
          responderFingerprint: fp.remote,
          openerNonce: nonce,
          responderNonce: msg.nonce,
        };
        link.send(encodeMessage({ type: 'capability', proof: capabilityProof(seed.infoHash, transcript, 'opener') }));
        link.send(encodeMessage({ type: 'interested' }));
      });
      link.send(encodeMessage({ type: 'handshake', version: WIRE_VERSION, discoveryKey, peerId: attackerId, nonce }));
      await closed;
      expect(seeding.peerIds).not.toContain(attackerId);
      // It passed the capability check (the seeder told it which pieces it has) and was
      // closed for the request, not refused.
      expect(received.slice(0, 3)).toEqual(['handshake', 'capability', 'bitfield']);
      expect(warnings).toEqual([[ErrorCode.BAD_FRAME, attackerId]]);
      expect(seeding.stats().refused).toBe(0);
    } finally {
      link.close();
      tracker.destroy();
    }

    // The seeder still serves an honest leecher.
    const leecher = client().download(seed.infoHash);
    await waitFor(leecher, 'done', 30_000);
    expect(sha(await bytesOf(leecher))).toBe(sha(data));
  }, 90_000);
});
