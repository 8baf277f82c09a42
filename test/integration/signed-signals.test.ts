/**
 * Signed signals against forgers, over real WebRTC (issue 17): a forged ROUTE frame that
 * claims origin X, and a forged offer "from B" handed over by a lying tracker, are refused
 * (ERR_BAD_SIGNATURE) and the victim's live link to X (or B) stays open. The forgers try
 * both what the old code accepted (unsigned signaling data) and a signal signed with their
 * own key.
 */
import { randomBytes } from 'node:crypto';
import {
  ErrorCode,
  encodeRouteFrame,
  PeerLink,
  RingswarmClient,
  RingswarmError,
  randomIdentity,
  signSignal,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { MitmRelay } from '../helpers/mitm-relay.js';
import { ringProblems } from '../helpers/ring-check.js';
import { rogueLinkTo } from '../helpers/rogue-link.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { emit, SocketPool } from '../helpers/tracker-socket.js';
import { sleep, until, waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const sid = () => randomBytes(8).toString('hex');
const badSignatures = (warnings: Error[]) =>
  warnings.filter((w) => w instanceof RingswarmError && w.code === ErrorCode.BAD_SIGNATURE).length;

/** A real SDP offer, as a forger would make one (its own DTLS certificate in it). */
async function realOffer(remoteId: string, links: PeerLink[]): Promise<Record<string, unknown>> {
  const link = new PeerLink(remoteId, { initiator: true, wrtc });
  links.push(link);
  for (;;) {
    const [data] = await waitFor(link, 'signal', 10_000);
    if (data.type === 'offer') return data;
  }
}

async function openBetween(a: RingswarmClient, b: RingswarmClient): Promise<void> {
  await until(
    async () => (await a.connectionInfo(b.peerId)) !== null && (await b.connectionInfo(a.peerId)) !== null,
    20_000,
    'an open link between the two peers',
  );
}

describe('forged signals (real WebRTC)', () => {
  let server: ServerProcess | undefined;
  let relay: MitmRelay | null = null;
  const clients: RingswarmClient[] = [];
  const links: PeerLink[] = [];
  let sockets: SocketPool | undefined;

  afterEach(async () => {
    for (const l of links.splice(0)) l.close();
    sockets?.closeAll();
    for (const c of clients.splice(0)) c.destroy();
    await relay?.destroy();
    relay = null;
    await sleep(200);
    if (server?.child.exitCode === null && server.child.signalCode === null) await server.stop();
  });

  it('drops a ROUTE frame that claims origin X, and the victim’s live link to X stays open', async () => {
    server = await startServerProcess();
    const victim = new RingswarmClient({ trackerUrl: server.url, wrtc });
    clients.push(victim);
    await waitFor(victim, 'ring-joined', 20_000);
    const x = new RingswarmClient({ trackerUrl: server.url, wrtc });
    clients.push(x);
    await waitFor(x, 'ring-joined', 20_000);
    await until(() => ringProblems([victim.ringStats()!, x.ringStats()!]).length === 0, 30_000, 'a ring of two');
    await openBetween(victim, x);
    const warnings: Error[] = [];
    victim.on('warning', (err) => warnings.push(err));

    // A ring member with a key of its own, linked to the victim honestly.
    sockets = new SocketPool(server.url);
    const forgerKey = randomIdentity();
    const forger = await sockets.peer(forgerKey);
    await emit(forger.socket, 'ring:bootstrap', { k: 1 });
    const hop = await rogueLinkTo(forger.socket, forgerKey, victim.peerId, links);
    const offer = await realOffer(victim.peerId, links);
    const before = victim.ringStats()!.signals;

    // An offer "from X", signed with the forger's own key...
    const signed = await signSignal(forgerKey, victim.peerId, sid(), offer);
    hop.send(encodeRouteFrame({ origin: x.peerId, target: victim.peerId, hops: 0, data: signed }));
    await until(() => victim.ringStats()!.signals.refused === before.refused + 1, 5_000, 'the forgery to be refused');
    // ...and unsigned, as the ring used to take it (now not even a well-formed ROUTE frame).
    const unsigned = { ...offer, sid: sid() } as unknown as typeof signed;
    const closed = waitFor(hop, 'close', 10_000);
    hop.send(encodeRouteFrame({ origin: x.peerId, target: victim.peerId, hops: 0, data: unsigned }));
    await closed;

    await sleep(1_000);
    expect(await victim.connectionInfo(x.peerId)).not.toBeNull();
    expect(await x.connectionInfo(victim.peerId)).not.toBeNull();
    await expect(victim.connect(x.peerId)).resolves.toBe(0);
    const after = victim.ringStats()!.signals;
    expect(after.received).toBe(before.received);
    expect(badSignatures(warnings)).toBe(1);
    expect(ringProblems([victim.ringStats()!, x.ringStats()!])).toEqual([]);
  }, 90_000);

  it('refuses a forged offer "from B" that a lying tracker hands over, and the link to B stays open', async () => {
    relay = await MitmRelay.start({ mode: 'honest', wrtc });
    const a = new RingswarmClient({ trackerUrl: relay.url, wrtc, ring: false });
    const b = new RingswarmClient({ trackerUrl: relay.url, wrtc, ring: false });
    clients.push(a, b);
    await until(() => a.tracker.connected && b.tracker.connected, 10_000, 'both peers on the relay');
    await a.connect(b.peerId);
    await openBetween(a, b);
    const warnings: Error[] = [];
    a.on('warning', (err) => warnings.push(err));

    const forgerKey = randomIdentity();
    const offer = await realOffer(a.peerId, links);
    // The relay stamps `from` with B's ID: signed with the forger's key, and unsigned.
    relay.inject(a.peerId, b.peerId, { ...(await signSignal(forgerKey, a.peerId, sid(), offer)) });
    relay.inject(a.peerId, b.peerId, { ...offer, sid: sid() });
    await until(() => badSignatures(warnings) === 2, 5_000, 'both forgeries to be refused');

    await sleep(1_000);
    expect(await a.connectionInfo(b.peerId)).not.toBeNull();
    expect(await b.connectionInfo(a.peerId)).not.toBeNull();
    await expect(a.connect(b.peerId)).resolves.toBe(0);
  }, 60_000);
});
