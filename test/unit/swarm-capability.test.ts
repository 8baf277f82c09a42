/**
 * The capability handshake as a swarm runs it, on fake links whose two ends declare fake
 * DTLS certificates: a peer that holds the infohash gets the file; one that cannot prove it
 * (only the discovery key, a replayed or reflected proof, the certificates in the wrong
 * order, a frame before its proof) is closed with ERR_CAPABILITY and hears nothing of the
 * swarm but our handshake and our proof.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  CAPABILITY_LABEL,
  CAPABILITY_TIMEOUT_MS,
  capabilityProof,
  concatBytes,
  discoveryKeyOf,
  ErrorCode,
  MemoryPieceStore,
  readAllPieces,
  Swarm,
  type SwarmDeps,
  type WireMessage,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { connect, linkPair, newPeerId, type ScriptedPeer, scripted } from '../helpers/fake-link.js';
import { seedable } from '../helpers/seed.js';
import { sha } from '../helpers/sha.js';
import { waitFor } from '../helpers/until.js';

const WAIT_MS = 5_000;
const random = (length: number) => new Uint8Array(randomBytes(length));

const swarms: Swarm[] = [];
afterEach(() => {
  for (const s of swarms.splice(0)) s.destroy();
});

async function newSeeder(data: Uint8Array, deps: Partial<SwarmDeps> = {}) {
  const seed = await seedable('data.bin', data);
  const swarm = new Swarm(
    { peerId: newPeerId(), store: seed.store, ...deps },
    { infoHash: seed.infoHash, manifest: seed.manifest, have: seed.have },
  );
  swarms.push(swarm);
  return { swarm, ...seed };
}

function newLeecher(infoHash: string, deps: Partial<SwarmDeps> = {}) {
  const swarm = new Swarm({ peerId: newPeerId(), store: new MemoryPieceStore(), ...deps }, { infoHash });
  swarms.push(swarm);
  return swarm;
}

/** What the swarm said about its peers. */
function record(swarm: Swarm) {
  const warnings: [code: string, remoteId: string][] = [];
  const closed: [remoteId: string, code: string | undefined][] = [];
  const peers: string[] = [];
  swarm.on('warning', (err, remoteId) => warnings.push([err.code, remoteId]));
  swarm.on('peer-closed', (remoteId, code) => closed.push([remoteId, code]));
  swarm.on('peer', (remoteId) => peers.push(remoteId));
  return { warnings, closed, peers };
}

/** The types of what the swarm sent a scripted peer. */
const typesSent = (peer: ScriptedPeer) => peer.inbox.map((m) => m.type);
const capabilityOf = (peer: ScriptedPeer) => peer.received('capability')[0]?.proof;

/** Expects the swarm to have refused `peer` at the capability check, telling it nothing. */
function expectRefused(
  swarm: Swarm,
  events: ReturnType<typeof record>,
  peer: ScriptedPeer,
  sent: WireMessage['type'][],
) {
  expect(peer.atSwarm.closed).toBe(true);
  expect(peer.atSwarm.closeCode).toBe(ErrorCode.CAPABILITY);
  expect(events.warnings).toEqual([[ErrorCode.CAPABILITY, peer.id]]);
  expect(events.closed).toEqual([[peer.id, ErrorCode.CAPABILITY]]);
  expect(events.peers).toEqual([]);
  expect(typesSent(peer)).toEqual(sent);
  expect(swarm.stats().refused).toBe(1);
}

describe('the capability handshake between two swarms', () => {
  it('a good pair that opened at once (both handshakes crossed) transfers the file', async () => {
    const data = random(200 * 1024 + 7);
    const seeder = await newSeeder(data);
    const leecher = newLeecher(seeder.infoHash);
    const done = waitFor(leecher, 'done', WAIT_MS);
    connect(leecher, seeder.swarm);
    await done;
    expect(sha(concatBytes(await readAllPieces(leecher.manifest!, leecher.store)))).toBe(sha(data));
    expect([leecher.stats().refused, seeder.swarm.stats().refused]).toEqual([0, 0]);
  });

  it('a good pair where one handshake came first (opener and responder) transfers the file', async () => {
    const data = random(100 * 1024);
    const seeder = await newSeeder(data);
    const leecher = newLeecher(seeder.infoHash);
    const [atLeecher, atSeeder] = linkPair(leecher.peerId, seeder.swarm.peerId);
    // The leecher speaks first; the seeder takes the link with that handshake in hand, as
    // the link pool hands it over.
    const first = new Promise<Uint8Array>((resolve) => atSeeder.once('frame', resolve));
    leecher.addLink(atLeecher);
    seeder.swarm.addLink(atSeeder, await first);
    await waitFor(leecher, 'done', WAIT_MS);
    expect(sha(concatBytes(await readAllPieces(leecher.manifest!, leecher.store)))).toBe(sha(data));
  });

  it('swarms for different files that share nothing do not get past the handshake', async () => {
    const seeder = await newSeeder(random(20_000));
    const other = newLeecher('cd'.repeat(32));
    const events = record(other);
    const [atOther] = connect(other, seeder.swarm);
    await new Promise<void>((resolve) => atOther.once('close', () => resolve()));
    expect(events.closed).toEqual([[seeder.swarm.peerId, ErrorCode.BAD_HANDSHAKE]]);
  });
});

describe('the capability handshake against a scripted peer', () => {
  async function setup(deps: Partial<SwarmDeps> = {}) {
    const clock = new FakeClock();
    const seeder = await newSeeder(random(40_000), { clock, ...deps });
    const events = record(seeder.swarm);
    const peer = (id = newPeerId()) => scripted(seeder.swarm, id, clock);
    return { clock, seeder, events, peer };
  }

  it('an honest peer gets our proof, computed as the issue spells it out, and then the bitfield', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    p.handshake(seeder.infoHash);
    await flush(clock);
    expect(typesSent(p).slice(0, 3)).toEqual(['handshake', 'capability', 'bitfield']);
    expect(events.peers).toEqual([p.id]);
    expect(seeder.swarm.stats()).toMatchObject({ peers: 1, refused: 0 });
    expect(seeder.swarm.peerStats().map((s) => s.remoteId)).toEqual([p.id]);

    // Our proof, by Node's HMAC over the layout: we sent the first handshake (opener) on a
    // link where we made the offer (the initiator).
    const ours = p.received('handshake')[0]!;
    const fp = p.atSwarm.fingerprints()!;
    const prefixed = (s: string) => Buffer.concat([Buffer.of(s.length), Buffer.from(s)]);
    const message = Buffer.concat([
      Buffer.from(CAPABILITY_LABEL),
      Buffer.from(discoveryKeyOf(seeder.infoHash), 'hex'),
      prefixed(fp.local),
      prefixed(fp.remote),
      ours.nonce,
      p.sentHandshake!.nonce,
      Buffer.of(0),
    ]);
    const expected = createHmac('sha256', Buffer.from(seeder.infoHash, 'hex')).update(message).digest('hex');
    expect(Buffer.from(capabilityOf(p)!).toString('hex')).toBe(expected);
    expect(ours.discoveryKey).toBe(discoveryKeyOf(seeder.infoHash));
  });

  it('refuses a peer that knows only the discovery key (it keys the proof with that)', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    // It names the right swarm and follows the layout, but cannot key the proof with the infohash.
    p.handshake(seeder.infoHash, {
      proof: ({ transcript, role }) => capabilityProof(discoveryKeyOf(seeder.infoHash), transcript, role),
    });
    p.send({ type: 'interested' });
    p.send({ type: 'metadata-request', chunk: 0 });
    await flush(clock);
    expectRefused(seeder.swarm, events, p, ['handshake', 'capability']);
  });

  it('refuses a proof made with a wrong infohash', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    p.handshake(seeder.infoHash, {
      proof: ({ transcript, role }) => capabilityProof('ee'.repeat(32), transcript, role),
    });
    await flush(clock);
    expectRefused(seeder.swarm, events, p, ['handshake', 'capability']);
  });

  it('refuses the fingerprints in the wrong order (initiator and responder swapped)', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    p.handshake(seeder.infoHash, {
      proof: ({ infoHash, transcript, role }) =>
        capabilityProof(
          infoHash,
          {
            ...transcript,
            initiatorFingerprint: transcript.responderFingerprint,
            responderFingerprint: transcript.initiatorFingerprint,
          },
          role,
        ),
    });
    await flush(clock);
    expectRefused(seeder.swarm, events, p, ['handshake', 'capability']);
  });

  it('refuses our own proof sent back (reflection)', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    p.handshake(seeder.infoHash, { proof: null });
    await flush(clock);
    expect(typesSent(p)).toEqual(['handshake', 'capability']);
    p.sendNow({ type: 'capability', proof: capabilityOf(p)! });
    await flush(clock);
    expectRefused(seeder.swarm, events, p, ['handshake', 'capability']);
  });

  it('refuses a nonce and proof replayed from an earlier link: our nonce is fresh on every link', async () => {
    // The same remote (so the same fake certificates) on a second link replays its first
    // link's handshake nonce and proof. A swarm that drew the same nonce again would take it.
    const run = async (randomBytesDep?: (n: number) => Uint8Array) => {
      const { clock, seeder, events, peer } = await setup(randomBytesDep ? { randomBytes: randomBytesDep } : {});
      const id = newPeerId();
      const first = peer(id);
      let nonce: Uint8Array | undefined;
      let proof: Uint8Array | undefined;
      first.handshake(seeder.infoHash, {
        proof: (ctx) => {
          nonce = ctx.role === 'responder' ? ctx.transcript.responderNonce : ctx.transcript.openerNonce;
          proof = ctx.honest;
          return ctx.honest;
        },
      });
      await flush(clock);
      expect(events.peers).toEqual([id]);
      first.link.close();
      await flush(clock);

      const second = peer(id);
      second.handshake(seeder.infoHash, { nonce: nonce!, proof: () => proof! });
      await flush(clock);
      return { seeder, events, second };
    };

    const fresh = await run();
    expect(fresh.second.atSwarm.closeCode).toBe(ErrorCode.CAPABILITY);
    expect(fresh.events.warnings).toEqual([[ErrorCode.CAPABILITY, fresh.second.id]]);
    expect(fresh.events.peers).toEqual([fresh.second.id]); // the first link only
    expect(typesSent(fresh.second)).toEqual(['handshake', 'capability']);
    expect(fresh.seeder.swarm.stats().refused).toBe(1);

    // The control: with a nonce that repeats, the very same replay gets in.
    const stuck = await run((n) => new Uint8Array(n).fill(7));
    expect(stuck.events.warnings).toEqual([]);
    expect(stuck.second.atSwarm.closed).toBe(false);
  });

  it.each<[string, (p: ScriptedPeer) => void]>([
    ['interested', (p) => p.send({ type: 'interested' })],
    ['a bitfield', (p) => p.send({ type: 'bitfield', bits: new Uint8Array(1) })],
    ['a have', (p) => p.send({ type: 'have', index: 0 })],
    ['an unchoke', (p) => p.send({ type: 'unchoke' })],
    ['a metadata request', (p) => p.send({ type: 'metadata-request', chunk: 0 })],
    ['a piece request', (p) => p.send({ type: 'request', index: 0, begin: 0, length: 1024 })],
  ])('refuses %s before the proof, and sends nothing beyond its handshake and proof', async (_what, act) => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    // The handshake goes out, no proof: what the test sends then comes before any proof.
    p.handshake(seeder.infoHash, { proof: null });
    act(p);
    await flush(clock);
    expectRefused(seeder.swarm, events, p, ['handshake', 'capability']);
  });

  it('a leecher asks nothing of a peer before its proof (no metadata request)', async () => {
    const clock = new FakeClock();
    const leecher = newLeecher('ab'.repeat(32), { clock });
    const events = record(leecher);
    const p = scripted(leecher, newPeerId(), clock);
    p.handshake('ab'.repeat(32), { proof: null });
    p.send({ type: 'bitfield', bits: new Uint8Array(1) });
    await flush(clock);
    expectRefused(leecher, events, p, ['handshake', 'capability']);
  });

  it('refuses a second proof', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    let honest: Uint8Array | undefined;
    p.handshake(seeder.infoHash, {
      proof: (ctx) => {
        honest = ctx.honest;
        return ctx.honest;
      },
    });
    await flush(clock);
    expect(events.peers).toEqual([p.id]);
    p.send({ type: 'capability', proof: honest! });
    await flush(clock);
    expect(p.atSwarm.closeCode).toBe(ErrorCode.CAPABILITY);
    expect(events.warnings).toEqual([[ErrorCode.CAPABILITY, p.id]]);
  });

  it('refuses a link whose DTLS fingerprints are unknown', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    p.atSwarm.fingerprintPair = null;
    p.handshake(seeder.infoHash);
    await flush(clock);
    expectRefused(seeder.swarm, events, p, ['handshake']);
  });

  it('closes a peer that never sends its proof', async () => {
    const { clock, seeder, events, peer } = await setup();
    const p = peer();
    p.handshake(seeder.infoHash, { proof: null });
    await flush(clock);
    expect(p.atSwarm.closed).toBe(false);
    // Still at the handshake: not counted or listed as a peer.
    expect(seeder.swarm.stats()).toMatchObject({ peers: 0, seeders: 0, leechers: 0 });
    expect(seeder.swarm.peerStats()).toEqual([]);
    clock.advance(CAPABILITY_TIMEOUT_MS);
    await flush(clock);
    expectRefused(seeder.swarm, events, p, ['handshake', 'capability']);
  });

  it('does not ban a refused peer: once it holds the link, it gets in', async () => {
    const { clock, seeder, events, peer } = await setup();
    const id = newPeerId();
    const outsider = peer(id);
    outsider.handshake(seeder.infoHash, { proof: (ctx) => ctx.honest.map((b) => b ^ 0xff) });
    await flush(clock);
    expect(outsider.atSwarm.closeCode).toBe(ErrorCode.CAPABILITY);

    const later = peer(id);
    later.handshake(seeder.infoHash);
    await flush(clock);
    expect(later.atSwarm.closed).toBe(false);
    expect(events.peers).toEqual([id]);
    expect(typesSent(later)).toContain('bitfield');
    expect(seeder.swarm.stats().refused).toBe(1);
  });
});
