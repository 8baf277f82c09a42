/**
 * An outsider that knows a share's discovery key but not its link (issue 16): it joins the
 * swarm on the tracker, connects to the seeder over real WebRTC and speaks the swarm wire by
 * hand. Each attempt must end at the capability step, with the seeder's ERR_CAPABILITY, and
 * the outsider must learn nothing of the share: not which pieces exist, not one manifest byte,
 * not one piece.
 */
import { randomBytes } from 'node:crypto';
import {
  CAPABILITY_TIMEOUT_MS,
  type CapabilityRole,
  capabilityProof,
  discoveryKeyOf,
  ErrorCode,
  encodeMessage,
  MessageType,
  RingswarmClient,
  readAllPieces,
  type Swarm,
  type WireMessage,
} from '@ringswarm/shared';
import { type RunningServer, startServer } from '@ringswarm/signaling-server';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeChecked } from '../helpers/leak-check.js';
import {
  CAPABILITY_FRAME_TYPE,
  capabilityFrame,
  capHandshakeFrame,
  capHandshakeNonce,
  Outsider,
} from '../helpers/outsider.js';
import { seedable } from '../helpers/seed.js';
import { SentFrames } from '../helpers/sent-frames.js';
import { sha } from '../helpers/sha.js';
import { waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const MiB = 1024 * 1024;
/** How long the seeder may take to refuse (a silent outsider waits out the proof timeout). */
const REFUSAL_MS = CAPABILITY_TIMEOUT_MS + 5_000;
/** What an outsider may see: the seeder's handshake (a discovery key and a nonce) and its proof, useless without the infohash. */
const HARMLESS = new Set<number>([MessageType.HANDSHAKE, CAPABILITY_FRAME_TYPE]);

const bytesOf = async (swarm: Swarm) => Buffer.concat(await readAllPieces(swarm.manifest!, swarm.store));

/** What the outsider does on its open link; `discoveryKey` is all it knows of the share. */
type Move = (outsider: Outsider, discoveryKey: string) => Promise<void>;

const sendHandshake = (outsider: Outsider, discoveryKey: string, nonce: Uint8Array = outsider.nonce) =>
  outsider.link.send(capHandshakeFrame(discoveryKey, outsider.peerId, nonce));

const theSeedersNonce = async (outsider: Outsider): Promise<Uint8Array> => {
  const nonce = capHandshakeNonce(await outsider.frameOfType(MessageType.HANDSHAKE, 10_000));
  if (!nonce) throw new Error('the seeder sent no well-formed handshake');
  return nonce;
};

/** A proof over the link's real transcript, made with a key that is not the infohash. */
const guessedProof = (outsider: Outsider, discoveryKey: string, seedersNonce: Uint8Array, role: CapabilityRole) => {
  const fp = outsider.fingerprints();
  const guess = randomBytes(32).toString('hex');
  const transcript = {
    discoveryKey,
    initiatorFingerprint: fp.initiator,
    responderFingerprint: fp.responder,
    openerNonce: role === 'opener' ? outsider.nonce : seedersNonce,
    responderNonce: role === 'opener' ? seedersNonce : outsider.nonce,
  };
  return capabilityFrame(capabilityProof(guess, transcript, role));
};

const reflectProof = async (outsider: Outsider) => {
  outsider.link.send(await outsider.frameOfType(CAPABILITY_FRAME_TYPE, 10_000));
};

/** The outsider opens the link: its handshake goes first. */
const AS_OPENER: [string, Move][] = [
  ['sends no proof at all', async (o, dk) => void sendHandshake(o, dk)],
  [
    'sends a proof right in all but its key',
    async (o, dk) => {
      sendHandshake(o, dk);
      o.link.send(guessedProof(o, dk, await theSeedersNonce(o), 'opener'));
    },
  ],
  [
    "sends the seeder's own proof back",
    async (o, dk) => {
      sendHandshake(o, dk);
      await reflectProof(o);
    },
  ],
  [
    'asks for the manifest and pieces without a proof',
    async (o, dk) => {
      sendHandshake(o, dk);
      const asks: WireMessage[] = [
        { type: 'interested' },
        { type: 'metadata-request', chunk: 0 },
        { type: 'bitfield', bits: new Uint8Array(1) },
        { type: 'request', index: 0, begin: 0, length: 16 * 1024 },
      ];
      for (const msg of asks) o.link.send(encodeMessage(msg));
    },
  ],
];

/** The seeder opens the link (it heard of the outsider from the tracker): its handshake goes first. */
const AS_ANSWERER: [string, Move][] = [
  ["echoes the seeder's nonce", async (o, dk) => void sendHandshake(o, dk, await theSeedersNonce(o))],
  [
    'sends a proof right in all but its key',
    async (o, dk) => {
      const theirs = await theSeedersNonce(o);
      sendHandshake(o, dk);
      o.link.send(guessedProof(o, dk, theirs, 'responder'));
    },
  ],
  [
    "sends the seeder's own proof back",
    async (o, dk) => {
      await theSeedersNonce(o);
      sendHandshake(o, dk);
      await reflectProof(o);
    },
  ],
];

describe.each([
  { opener: 'outsider', moves: AS_OPENER },
  { opener: 'seeder', moves: AS_ANSWERER },
] as const)('an outsider that knows only the discovery key, the $opener opening the link', ({ opener, moves }) => {
  let server: RunningServer;
  const clients: RingswarmClient[] = [];
  const outsiders: Outsider[] = [];

  beforeEach(async () => {
    // A seeder opens links only to the peers its own announces name: let it announce often.
    const config = opener === 'seeder' ? { announceIntervalS: 1 } : {};
    server = await startServer({ port: 0, host: '127.0.0.1', ...config }, { logger: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    for (const o of outsiders.splice(0)) o.destroy();
    for (const c of clients.splice(0)) c.destroy();
    await closeChecked(server);
  });

  it.each(moves)(
    'that %s is refused with ERR_CAPABILITY and learns nothing',
    async (_move, move) => {
      const data = new Uint8Array(randomBytes(1 * MiB));
      const seed = await seedable('private.bin', data);
      const sent = new SentFrames();
      const seeder = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false, createLink: sent.createLink });
      clients.push(seeder);
      const seeding = await seeder.seed(seed.manifest, seed.store, seed.have);
      const warnings: [string, string][] = [];
      seeding.on('warning', (err, remoteId) => warnings.push([err.code, remoteId]));

      // An operator reads the discovery key off the admin stats; here it is derived from the infohash.
      const discoveryKey = discoveryKeyOf(seed.infoHash);
      const outsider = new Outsider(server.url);
      outsiders.push(outsider);
      // The seeder's offer may come as soon as the outsider's first announce is in (the
      // seeder's next announce names it), so the outsider listens for it from the start.
      const accepted = opener === 'seeder' ? outsider.accept(seeder.peerId, wrtc, 20_000) : null;
      accepted?.catch(() => {}); // awaited below
      // seed() does not wait for the tracker to take the seeder's first announce: ask until it has.
      await expect
        .poll(() => outsider.announce(discoveryKey), { timeout: 10_000, interval: 200 })
        .toContain(seeder.peerId);
      const link = accepted ? await accepted : await outsider.connect(seeder.peerId, wrtc);
      const closed = waitFor(link, 'close', REFUSAL_MS);
      await move(outsider, discoveryKey);
      await closed;

      expect(warnings).toContainEqual([ErrorCode.CAPABILITY, outsider.peerId]);
      expect(seeding.peerIds).not.toContain(outsider.peerId);
      // The refusal came at the capability step: the seeder had sent its handshake (what it
      // sent just before closing may be lost with the link, so ask the seeder's side).
      expect(sent.to(outsider.peerId)[0]).toBe(MessageType.HANDSHAKE);
      // Nothing of the share reached the outsider, nor left the seeder for it.
      expect(outsider.received.filter((type) => !HARMLESS.has(type))).toEqual([]);
      expect(sent.to(outsider.peerId).filter((type) => !HARMLESS.has(type))).toEqual([]);
      const infoHash = Buffer.from(seed.infoHash, 'hex');
      expect(outsider.frames.filter((frame) => Buffer.from(frame).includes(infoHash))).toEqual([]);

      // The seeder still serves a peer that has the link, byte for byte.
      const leecher = new RingswarmClient({ trackerUrl: server.url, wrtc, ring: false });
      clients.push(leecher);
      const download = leecher.download(seed.infoHash);
      await waitFor(download, 'done', 30_000);
      expect(sha(await bytesOf(download))).toBe(sha(data));
      expect(sent.to(leecher.peerId)).toContain(MessageType.PIECE);
    },
    60_000,
  );
});
