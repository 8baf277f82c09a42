/**
 * A lying signaling server (issue 16): the tracker of two peers splices itself into their
 * transfer, terminating both WebRTC connections and piping the data channels through. The
 * capability proofs cover both DTLS fingerprints of each connection, so neither proof fits
 * the other leg (issue 16); since issue 17 the relay does not get that far: it cannot sign
 * the signals it forges for each leg as the other peer, so both peers refuse them
 * (ERR_BAD_SIGNATURE) and no frame at all crosses. Through the same relay run honestly, the
 * share downloads byte-identical.
 */
import { randomBytes } from 'node:crypto';
import {
  discoveryKeyOf,
  ErrorCode,
  MessageType,
  RingswarmClient,
  RingswarmError,
  readAllPieces,
  type Swarm,
} from '@ringswarm/shared';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MitmRelay } from '../helpers/mitm-relay.js';
import { CAPABILITY_FRAME_TYPE } from '../helpers/outsider.js';
import { seedable } from '../helpers/seed.js';
import { SentFrames } from '../helpers/sent-frames.js';
import { sha } from '../helpers/sha.js';
import { sleep, until, waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const MiB = 1024 * 1024;
/** Both sides must have refused by then. */
const REFUSAL_MS = 20_000;
/**
 * After both refused, the leecher is watched this long: it announces again within 3 s while
 * it has no peer (LONELY_ANNOUNCE_MS), so a second spliced attempt falls in the window.
 */
const WATCH_MS = 5_000;
/** The only frames that may cross a splice: handshakes (discovery key, peer ID, nonce) and proofs. */
const HARMLESS = new Set<number>([MessageType.HANDSHAKE, CAPABILITY_FRAME_TYPE]);

const bytesOf = async (swarm: Swarm) => Buffer.concat(await readAllPieces(swarm.manifest!, swarm.store));
const notHarmless = (types: Iterable<number>) => [...types].filter((type) => !HARMLESS.has(type));

describe('a signaling relay between a seeder and a leecher', () => {
  let data: Uint8Array;
  let seed: Awaited<ReturnType<typeof seedable>>;
  let relay: MitmRelay | null = null;
  const clients: RingswarmClient[] = [];

  /** Two peers on the relay (no ring: the relay is their only signaling path), the seeder announced first. */
  async function seederAndLeecher(on: MitmRelay) {
    const sent = { seeder: new SentFrames(), leecher: new SentFrames() };
    const make = (frames: SentFrames) => {
      const c = new RingswarmClient({ trackerUrl: on.url, wrtc, ring: false, createLink: frames.createLink });
      clients.push(c);
      return c;
    };
    const seeder = make(sent.seeder);
    const leecher = make(sent.leecher);
    const seeding = await seeder.seed(seed.manifest, seed.store, seed.have);
    const discoveryKey = discoveryKeyOf(seed.infoHash);
    await until(() => on.peersOf(discoveryKey).includes(seeder.peerId), 10_000, "the seeder's announce");
    const warnings = { seeder: [] as [string, string][], leecher: [] as [string, string][] };
    seeding.on('warning', (err, remoteId) => warnings.seeder.push([err.code, remoteId]));
    const download = leecher.download(seed.infoHash);
    download.on('warning', (err, remoteId) => warnings.leecher.push([err.code, remoteId]));
    return { seeder, leecher, seeding, download, sent, warnings };
  }

  beforeAll(async () => {
    data = new Uint8Array(randomBytes(2 * MiB));
    seed = await seedable('private.bin', data);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await relay?.destroy();
    relay = null;
  });

  it('that splices itself in is refused by both sides at the signaling (ERR_BAD_SIGNATURE), and nothing crosses it', async () => {
    const on = await MitmRelay.start({ mode: 'splice', wrtc });
    relay = on;
    const { seeder, leecher, download, sent } = await seederAndLeecher(on);
    // The relay cannot sign as either peer (issue 17): each refuses the signals it forges
    // for the other, before any link (and so any capability handshake) exists.
    const refusals = { seeder: 0, leecher: 0 };
    const badSignature = (err: Error) => err instanceof RingswarmError && err.code === ErrorCode.BAD_SIGNATURE;
    seeder.on('warning', (err) => {
      if (badSignature(err)) refusals.seeder++;
    });
    leecher.on('warning', (err) => {
      if (badSignature(err)) refusals.leecher++;
    });

    await until(
      () => (refusals.seeder > 0 && refusals.leecher > 0) || download.done,
      REFUSAL_MS,
      'both sides to refuse the spliced signals',
    );
    expect(download.done).toBe(false);
    // The relay really tried to splice itself in.
    expect(on.spliced).toBeGreaterThanOrEqual(1);

    // The leecher keeps trying, through the same relay, and never gets anywhere.
    await sleep(WATCH_MS);
    expect(download.done).toBe(false);
    expect(download.manifest).toBeNull();
    expect(download.stats().piecesHave).toBe(0);
    // No bitfield, have, metadata answer or piece crossed the relay, or left either peer for the other.
    expect(notHarmless(on.forwardedTypes().keys())).toEqual([]);
    expect(notHarmless(sent.seeder.to(leecher.peerId))).toEqual([]);
    expect(notHarmless(sent.leecher.to(seeder.peerId))).toEqual([]);

    // The relay leaves nothing behind: its port is closed, and a second destroy is a no-op.
    await on.destroy();
    await on.destroy();
    await expect(fetch(`${on.url}/socket.io/?EIO=4&transport=polling`)).rejects.toThrow();
  }, 60_000);

  it('that relays signals unchanged carries the same share byte-identical', async () => {
    const on = await MitmRelay.start({ mode: 'honest', wrtc });
    relay = on;
    const { leecher, download, sent, warnings } = await seederAndLeecher(on);
    await waitFor(download, 'done', 30_000);

    expect(sha(await bytesOf(download))).toBe(sha(data));
    expect(sent.seeder.to(leecher.peerId)).toContain(MessageType.PIECE);
    // The peers talked directly: no frame went through the relay.
    expect(on.spliced).toBe(0);
    expect(on.forwardedTypes().size).toBe(0);
    expect([...warnings.seeder, ...warnings.leecher]).toEqual([]);
  }, 60_000);
});
