import { randomBytes } from 'node:crypto';
import {
  concatBytes,
  encodeRouteFrame,
  MemoryPieceStore,
  OverlayFrameType,
  type PeerLink,
  RingswarmClient,
  ROUTE_MAX_HOPS,
  randomIdentity,
  readAllPieces,
  signSignal,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { ringProblems } from '../helpers/ring-check.js';
import { rogueLinkTo } from '../helpers/rogue-link.js';
import { seedable } from '../helpers/seed.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { sha } from '../helpers/sha.js';
import { emit, SocketPool } from '../helpers/tracker-socket.js';
import { sleep, until, waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const OFFER = { type: 'offer', sdp: 'x' };

describe('the ring over real WebRTC (Node peers, tracker in its own process)', () => {
  let server: ServerProcess | undefined;
  const clients: RingswarmClient[] = [];
  const links: PeerLink[] = [];
  let sockets: SocketPool | undefined;

  afterEach(async () => {
    for (const l of links.splice(0)) l.close();
    sockets?.closeAll();
    for (const c of clients.splice(0)) c.destroy();
    await sleep(200);
    if (server?.child.exitCode === null && server.child.signalCode === null) await server.stop();
  });

  async function ringOf(n: number, url: string, successors?: number): Promise<RingswarmClient[]> {
    const ring: RingswarmClient[] = [];
    for (let i = 0; i < n; i++) {
      const c = new RingswarmClient({ trackerUrl: url, wrtc, ring: successors ? { successors } : true });
      clients.push(c);
      ring.push(c);
      await waitFor(c, 'ring-joined', 20_000);
    }
    await until(() => ringProblems(ring.map((c) => c.ringStats()!)).length === 0, 30_000, 'a correct ring');
    return ring;
  }

  it('keeps sharing when the tracker is gone: DHT discovery, signaling through the ring', async () => {
    server = await startServerProcess();
    // A short successor list leaves pairs of peers with no link between them: the download
    // then needs a new connection, which only the ring can signal once the tracker is gone.
    const ring = await ringOf(10, server.url, 2);
    const unlinked = async (): Promise<[RingswarmClient, RingswarmClient] | null> => {
      for (const a of ring) {
        for (const b of ring) {
          if (a !== b && !a.hasLink(b.peerId) && !b.hasLink(a.peerId)) return [a, b];
        }
      }
      return null;
    };
    const pair = await unlinked();
    expect(pair, 'two ring members without a link between them').not.toBeNull();
    const [sharer, getter] = pair!;

    server.child.kill('SIGKILL');
    await until(() => server?.child.signalCode === 'SIGKILL', 5_000, 'the tracker to die');
    await until(() => !sharer.tracker.connected && !getter.tracker.connected, 10_000, 'peers to see the tracker gone');

    const before = { getter: getter.ringStats()!.signals, sharer: sharer.ringStats()!.signals };
    // A new file, shared after the tracker died.
    const data = new Uint8Array(randomBytes(3 * 1024 * 1024 + 12345));
    const { manifest, infoHash, store, have } = await seedable('after-the-tracker.bin', data);
    await sharer.seed(manifest, store, have);

    // A private share: the ring knows it by its discovery key only.
    await until(
      async () => (await getter.findProviders(infoHash).catch((): string[] => [])).includes(sharer.peerId),
      15_000,
      'the provider record in the DHT',
    );
    const download = getter.download(infoHash, new MemoryPieceStore(), { mode: 'dht' });
    await waitFor(download, 'done', 60_000);

    const received = concatBytes(await readAllPieces(manifest, download.store));
    expect(sha(received)).toBe(sha(data));
    expect(download.stats().downloaded).toBe(data.length);
    // No name record leads to it (both copies are complete now, neither listed it).
    expect(await getter.searchByName('after-the-tracker.bin')).toEqual([]);
    const after = { getter: getter.ringStats()!.signals, sharer: sharer.ringStats()!.signals };
    // The two had no link when the tracker died: their connection was signaled through the
    // ring (both sides sent offer/answer/candidates that way), never through the tracker.
    expect(getter.hasLink(sharer.peerId)).toBe(true);
    for (const side of ['getter', 'sharer'] as const) {
      expect(after[side].viaRing).toBeGreaterThan(before[side].viaRing);
      expect(after[side].viaTracker).toBe(before[side].viaTracker);
    }
    expect(server.child.exitCode === null && server.child.signalCode === 'SIGKILL').toBe(true);
    console.log(
      `trackerless: ${data.length} bytes from ${sharer.peerId.slice(0, 8)} to ${getter.peerId.slice(0, 8)};`,
      `signals via ring ${after.getter.viaRing - before.getter.viaRing} + ${after.sharer.viaRing - before.sharer.viaRing},`,
      `via tracker ${after.getter.viaTracker - before.getter.viaTracker};`,
      `lookups ${JSON.stringify(getter.ringStats()!.lookups.slice(-3))}`,
    );
  }, 120_000);

  it('drops a peer that sends malformed ring frames or routes a signal to itself; hop limits stop loops', async () => {
    server = await startServerProcess();
    const [victim, other] = (await ringOf(2, server.url)) as [RingswarmClient, RingswarmClient];
    sockets = new SocketPool(server.url);

    // A rogue peer that speaks the tracker protocol by hand and opens raw links (signing
    // its signals with its own key: it misbehaves in the ring, not in the signaling).
    const rogueKey = randomIdentity();
    const rogue = await sockets.peer(rogueKey);
    await emit(rogue.socket, 'ring:bootstrap', { k: 1 });
    const rogueLink = () => rogueLinkTo(rogue.socket, rogueKey, victim.peerId, links);
    const signedBy = (target: string) => signSignal(rogueKey, target, randomBytes(8).toString('hex'), OFFER);
    const dropped = () => victim.ringStats()!.peersDropped;

    // 1. A RING frame that is not a ring message.
    const bad = await rogueLink();
    const closed1 = waitFor(bad, 'close', 10_000);
    bad.send(Uint8Array.of(OverlayFrameType.RING, ...new TextEncoder().encode('{"type":"find","rid":-1}')));
    await closed1;
    expect(dropped()).toBe(1);

    // 2. A signal routed from the rogue to itself: a loop by construction.
    const looper = await rogueLink();
    const closed2 = waitFor(looper, 'close', 10_000);
    looper.send(encodeRouteFrame({ origin: rogue.id, target: rogue.id, hops: 0, data: await signedBy(rogue.id) }));
    await closed2;
    expect(dropped()).toBe(2);

    // 3. A routed signal already at the hop limit is not passed on (and the link stays up).
    const hopper = await rogueLink();
    const relayedBefore = victim.ringStats()!.signals.relayed;
    const droppedSignals = victim.ringStats()!.signals.dropped;
    hopper.send(
      encodeRouteFrame({
        origin: rogue.id,
        target: other.peerId,
        hops: ROUTE_MAX_HOPS,
        data: await signedBy(other.peerId),
      }),
    );
    await until(() => victim.ringStats()!.signals.dropped === droppedSignals + 1, 5_000, 'the signal to be dropped');
    expect(victim.ringStats()!.signals.relayed).toBe(relayedBefore);
    expect(hopper.connected).toBe(true);

    // The victim keeps serving the ring.
    await sleep(500);
    expect(ringProblems([victim.ringStats()!, other.ringStats()!])).toEqual([]);
  }, 60_000);
});
