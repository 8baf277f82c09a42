/**
 * RingswarmClient with every edge injected (clock, links, tracker socket): the wiring from a
 * tracker announce to a link and a swarm handshake, signals both ways through the tracker,
 * and destroy. No WebRTC, no server, no wall-clock waits.
 */
import {
  decodeMessage,
  discoveryKeyOf,
  ErrorCode,
  encodeMessage,
  handshakeDiscoveryKey,
  LONELY_ANNOUNCE_MS,
  RingswarmClient,
  randomIdentity,
  type SignalEnvelope,
  signSignal,
  WIRE_VERSION,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../helpers/fake-clock.js';
import { newNonce, newPeerId } from '../helpers/fake-link.js';
import { FakeLinkFactory } from '../helpers/fake-peer-link.js';
import { FakeTrackerSockets } from '../helpers/fake-tracker-socket.js';
import { nextMacrotask, until } from '../helpers/until.js';

const INFO_HASH = 'cd'.repeat(32);

describe('the client with injected edges', () => {
  const clients: RingswarmClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });

  function setup(peers: string[] = []) {
    const clock = new FakeClock();
    const links = new FakeLinkFactory();
    const sockets = new FakeTrackerSockets((event) =>
      event === 'announce' ? { ok: true, peers, complete: 1, incomplete: 1, interval: 120 } : { ok: true },
    );
    const client = new RingswarmClient({
      trackerUrl: 'http://tracker.test',
      ring: false,
      clock,
      random: () => 0.5,
      createLink: links.create,
      createTrackerSocket: sockets.create,
    });
    clients.push(client);
    sockets.last.fire('connect');
    return { clock, links, sockets, client };
  }

  it('connects to the peers an announce names and speaks the swarm handshake first', async () => {
    const seeder = newPeerId();
    const { links, sockets, client } = setup([seeder]);
    client.download(INFO_HASH);
    await nextMacrotask();
    expect(sockets.last.emitted[0]).toMatchObject({
      event: 'announce',
      payload: { discoveryKey: discoveryKeyOf(INFO_HASH), event: 'started' },
    });
    const link = links.last(seeder);
    expect(link.initiator).toBe(true);
    link.open();
    const first = link.sent[0];
    expect(first && handshakeDiscoveryKey(first)).toBe(discoveryKeyOf(INFO_HASH));
    expect(first && Buffer.from(first).toString('hex')).not.toContain(INFO_HASH);
    expect(client.hasLink(seeder)).toBe(true);
  });

  it('hands a link whose handshake names the discovery key of one of its swarms to that swarm', async () => {
    const { links, sockets, client } = setup();
    client.download(INFO_HASH);
    await nextMacrotask();
    const handshake = (discoveryKey: string, peerId: string) =>
      encodeMessage({ type: 'handshake', version: WIRE_VERSION, discoveryKey, peerId, nonce: newNonce() });
    const [remoteKey, strangerKey] = [randomIdentity(), randomIdentity()];
    const [remote, stranger] = [remoteKey.peerId, strangerKey.peerId];
    for (const key of [remoteKey, strangerKey]) {
      const data = await signSignal(key, client.peerId, '0123456789abcdef', { type: 'offer', sdp: 'v=0' });
      sockets.last.fire('signal', { from: key.peerId, data });
      // The offer is verified off the main thread (WebCrypto) before the link is made.
      await until(() => links.made.some((l) => l.remoteId === key.peerId), 2_000, 'the verified offer');
      links.last(key.peerId).open();
    }
    links.last(remote).receive(handshake(discoveryKeyOf(INFO_HASH), remote));
    links.last(stranger).receive(handshake(discoveryKeyOf('ef'.repeat(32)), stranger));
    // Our swarm answers with its handshake and its proof; a swarm we do not run is refused.
    expect(links.last(remote).sent.map((f) => decodeMessage(f).type)).toEqual(['handshake', 'capability']);
    expect(links.last(remote).destroyed).toBe(false);
    expect(links.last(stranger).closeCode).toBe(ErrorCode.BAD_HANDSHAKE);
  });

  it('sends a link’s signals through the tracker and feeds the answers back', async () => {
    const { clock, links, sockets, client } = setup();
    const remoteKey = randomIdentity();
    const remote = remoteKey.peerId;
    const opened = client.connect(remote);
    const link = links.last(remote);
    link.emitSignal({ type: 'offer', sdp: 'v=0' });
    // Signing goes through WebCrypto, which answers on its own thread.
    await until(() => sockets.last.emitted.some((e) => e.event === 'signal'), 2_000, 'the signed offer');
    const sent = sockets.last.emitted.find((e) => e.event === 'signal');
    const envelope = (sent?.payload as { to: string; data: SignalEnvelope } | undefined)?.data;
    expect(sent?.payload).toMatchObject({ to: remote });
    expect(JSON.parse(envelope?.body ?? 'null')).toEqual({ type: 'offer', sdp: 'v=0' });
    const sid = envelope?.sid ?? '';
    expect(sid).toMatch(/^[0-9a-f]{16}$/);
    const answer = await signSignal(remoteKey, client.peerId, sid, { type: 'answer', sdp: 'v=0 a' });
    sockets.last.fire('signal', { from: remote, data: answer });
    await until(() => link.signalled.length > 0, 2_000, 'the verified answer');
    expect(link.signalled).toEqual([{ type: 'answer', sdp: 'v=0 a' }]);
    clock.advance(250);
    link.open();
    await expect(opened).resolves.toBe(250);
  });

  it('destroy says stopped, closes every link and then the tracker socket, and leaves no timer', async () => {
    const { clock, links, sockets, client } = setup([newPeerId()]);
    client.download(INFO_HASH);
    await nextMacrotask();
    const events: string[] = [];
    client.on('close', () => events.push('close'));
    client.destroy();
    client.destroy();
    expect(events).toEqual(['close']);
    expect(sockets.last.emitted.at(-1)).toMatchObject({ event: 'announce', payload: { event: 'stopped' } });
    expect(links.made.length).toBeGreaterThan(0);
    expect(links.made.every((l) => l.destroyed)).toBe(true);
    expect(sockets.last.disconnected).toBe(false);
    clock.advance(0);
    expect(sockets.last.disconnected).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('announces again within LONELY_ANNOUNCE_MS when the only connection never opened, and dials the peer again', async () => {
    const seeder = '5e'.repeat(20);
    const { clock, links, sockets, client } = setup([seeder]);
    client.on('warning', () => {});
    client.download(INFO_HASH);
    const announces = () => sockets.last.emitted.filter((e) => e.event === 'announce').length;
    await nextMacrotask();
    expect(announces()).toBe(1);
    const first = links.last(seeder);
    first.close(ErrorCode.NO_ROUTE);
    clock.advance(LONELY_ANNOUNCE_MS);
    await nextMacrotask();
    expect(announces()).toBe(2);
    expect(links.last(seeder)).not.toBe(first);
  });

  it('waits for the interval while the only peer is still connecting', async () => {
    const seeder = '5e'.repeat(20);
    const { clock, links, sockets, client } = setup([seeder]);
    client.download(INFO_HASH);
    const announces = () => sockets.last.emitted.filter((e) => e.event === 'announce').length;
    await nextMacrotask();
    links.last(seeder);
    clock.advance(LONELY_ANNOUNCE_MS * 3);
    await nextMacrotask();
    expect(announces()).toBe(1);
  });
});
