/**
 * PeerLink's queue caps over real WebRTC: frames held before the channel opens and what the
 * open channel has not sent are bounded in bytes and in frames; a frame past a cap closes the
 * link with ERR_LINK_QUEUE_FULL instead of growing the queue.
 */
import {
  ErrorCode,
  PENDING_HIGH_WATER,
  PENDING_MAX_BYTES,
  PENDING_MAX_FRAMES,
  PeerLink,
  SEND_MAX_BYTES,
} from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { randomPeerId } from '../helpers/tracker-socket.js';
import { until, waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const BLOCK = 16 * 1024;

describe('PeerLink queue caps', () => {
  const links: PeerLink[] = [];
  afterEach(() => {
    for (const l of links.splice(0)) l.close();
  });

  /** A link whose signals go nowhere: it never connects. */
  function lonely(): { link: PeerLink; closes: (string | undefined)[] } {
    const link = new PeerLink(randomPeerId(), { initiator: true, wrtc });
    links.push(link);
    const closes: (string | undefined)[] = [];
    link.on('close', (code) => closes.push(code));
    return { link, closes };
  }

  /** Sends `frame` until the link closes or `max` frames went; how many were accepted. */
  function fill(link: PeerLink, frame: Uint8Array, max: number): { accepted: number; softFalseAt: number | null } {
    let accepted = 0;
    let softFalseAt: number | null = null;
    for (let i = 0; i < max && !link.destroyed; i++) {
      const ok = link.send(frame);
      if (link.destroyed) break;
      accepted++;
      if (!ok && softFalseAt === null) softFalseAt = accepted;
    }
    return { accepted, softFalseAt };
  }

  it('a link that never connects holds at most PENDING_MAX_BYTES, then closes with ERR_LINK_QUEUE_FULL', () => {
    const { link, closes } = lonely();
    const { accepted, softFalseAt } = fill(link, new Uint8Array(BLOCK), (4 * PENDING_MAX_BYTES) / BLOCK);
    expect(softFalseAt).toBe(PENDING_HIGH_WATER / BLOCK);
    expect(accepted * BLOCK).toBeLessThanOrEqual(PENDING_MAX_BYTES);
    expect(accepted).toBe(PENDING_MAX_BYTES / BLOCK);
    expect(link.destroyed).toBe(true);
    expect(closes).toEqual([ErrorCode.LINK_QUEUE_FULL]);
    // Closed: nothing more is queued.
    expect(link.send(new Uint8Array(1))).toBe(false);
  });

  it('a link that never connects holds at most PENDING_MAX_FRAMES small frames', () => {
    const { link, closes } = lonely();
    const { accepted } = fill(link, new Uint8Array(1), 10 * PENDING_MAX_FRAMES);
    expect(accepted).toBe(PENDING_MAX_FRAMES);
    expect(closes).toEqual([ErrorCode.LINK_QUEUE_FULL]);
  });

  /** Two links signaled straight into each other, both open. */
  async function openPair(): Promise<[PeerLink, PeerLink]> {
    const [idA, idB] = [randomPeerId(), randomPeerId()];
    const a = new PeerLink(idB, { initiator: true, wrtc });
    const b = new PeerLink(idA, { initiator: false, wrtc });
    a.on('signal', (data) => b.signal(data));
    b.on('signal', (data) => a.signal(data));
    links.push(a, b);
    await Promise.all([waitFor(a, 'connect', 20_000), waitFor(b, 'connect', 20_000)]);
    return [a, b];
  }

  it('an open link that is sent to past `false` closes with ERR_LINK_QUEUE_FULL before SEND_MAX_BYTES', async () => {
    const [a] = await openPair();
    const closes: (string | undefined)[] = [];
    a.on('close', (code) => closes.push(code));
    const frame = new Uint8Array(64 * 1024);
    // In one tick, so the channel cannot send much of it: 4 × the cap if nothing stopped it.
    const { accepted, softFalseAt } = fill(a, frame, (4 * SEND_MAX_BYTES) / frame.byteLength);
    expect(softFalseAt).not.toBeNull();
    expect(closes).toEqual([ErrorCode.LINK_QUEUE_FULL]);
    // What was accepted and not yet sent never passed the cap; at most the cap plus what
    // the channel sent during the loop was accepted in all.
    expect(accepted * frame.byteLength).toBeLessThan(4 * SEND_MAX_BYTES);
  });

  it('a caller told to wait before the channel opened hears `drain` once it has', async () => {
    const [idA, idB] = [randomPeerId(), randomPeerId()];
    const a = new PeerLink(idB, { initiator: true, wrtc });
    const b = new PeerLink(idA, { initiator: false, wrtc });
    links.push(a, b);
    const { softFalseAt } = fill(a, new Uint8Array(BLOCK), PENDING_HIGH_WATER / BLOCK);
    expect(softFalseAt).toBe(PENDING_HIGH_WATER / BLOCK);
    let received = 0;
    b.on('frame', (f) => {
      received += f.byteLength;
    });
    const drained = waitFor(a, 'drain', 20_000);
    a.on('signal', (data) => b.signal(data));
    b.on('signal', (data) => a.signal(data));
    await drained;
    expect(a.destroyed).toBe(false);
    await until(() => received === PENDING_HIGH_WATER, 20_000, 'every held frame to arrive');
  });
});
