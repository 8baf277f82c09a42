/**
 * PeerLink over real WebRTC: the DTLS fingerprints it reads from the two session
 * descriptions, which the capability proofs bind to; the offerer's candidates held until the
 * answer, on both Node implementations.
 */
import { loadWrtc, type WrtcImpl } from '@ringswarm/cli';
import { PeerLink } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { randomPeerId } from '../helpers/tracker-socket.js';
import { sleep, waitFor } from '../helpers/until.js';
import { wrtc } from '../helpers/wrtc.js';

const FINGERPRINT = /^sha-256 [0-9A-F]{2}(:[0-9A-F]{2}){31}$/;

describe('PeerLink fingerprints', () => {
  const links: PeerLink[] = [];
  afterEach(() => {
    for (const l of links.splice(0)) l.close();
  });

  /** Two links signaled straight into each other. */
  function pair(): [PeerLink, PeerLink] {
    const [idA, idB] = [randomPeerId(), randomPeerId()];
    const a = new PeerLink(idB, { initiator: true, wrtc });
    const b = new PeerLink(idA, { initiator: false, wrtc });
    a.on('signal', (data) => b.signal(data));
    b.on('signal', (data) => a.signal(data));
    links.push(a, b);
    return [a, b];
  }

  it('each end reads its own certificate and the other’s, the same two from both ends', async () => {
    const [a, b] = pair();
    await Promise.all([waitFor(a, 'connect', 20_000), waitFor(b, 'connect', 20_000)]);
    const fa = a.fingerprints();
    const fb = b.fingerprints();
    expect(fa?.local).toMatch(FINGERPRINT);
    expect(fa?.remote).toMatch(FINGERPRINT);
    expect(fa?.local).not.toBe(fa?.remote);
    expect(fb).toEqual({ local: fa?.remote, remote: fa?.local });

    // Another connection, another certificate on each side.
    const [c] = pair();
    await waitFor(c, 'connect', 20_000);
    expect([fa?.local, fa?.remote]).not.toContain(c.fingerprints()?.local);

    a.close();
    expect(a.fingerprints()).toBeNull();
  });

  it('knows none before the descriptions are exchanged', () => {
    const lonely = new PeerLink(randomPeerId(), { initiator: false, wrtc });
    links.push(lonely);
    expect(lonely.fingerprints()).toBeNull();
  });
});

describe.each(['roamhq', 'ndc'] satisfies WrtcImpl[])('PeerLink offerer candidates (%s)', (impl) => {
  const impls = loadWrtc(impl);
  const links: PeerLink[] = [];
  afterEach(() => {
    for (const l of links.splice(0)) l.close();
  });

  it('the offer carries no candidate, and none is sent until the answer is in', async () => {
    const a = new PeerLink(randomPeerId(), { initiator: true, wrtc: impls });
    const b = new PeerLink(randomPeerId(), { initiator: false, wrtc: impls });
    links.push(a, b);
    const sent: string[] = [];
    const early: Record<string, unknown>[] = [];
    a.on('signal', (data) => {
      sent.push(String(data.type));
      early.push(data);
    });
    // Gathering host candidates on loopback takes milliseconds.
    await sleep(500);
    expect(sent).toEqual(['offer']);
    expect(String(early[0]?.sdp)).toContain('a=fingerprint:');
    expect(String(early[0]?.sdp)).not.toContain('a=candidate:');

    b.on('signal', (data) => {
      if (data.type === 'answer') sent.push('<answer in>');
      a.signal(data);
    });
    a.on('signal', (data) => b.signal(data));
    b.signal(early[0] ?? {});
    await Promise.all([waitFor(a, 'connect', 20_000), waitFor(b, 'connect', 20_000)]);
    const answerAt = sent.indexOf('<answer in>');
    expect(answerAt).toBeGreaterThan(0);
    expect(sent.indexOf('candidate')).toBeGreaterThan(answerAt);
  });

  // node-datachannel failed about one such pair in 200 while the offerer sent its candidates
  // at once; @roamhq/wrtc opens pairs more slowly and never failed one.
  const PAIRS = impl === 'ndc' ? 400 : 100;
  it(`${PAIRS} pairs signaled straight into each other, 10 at a time, all open`, async () => {
    let next = 0;
    const failed: string[] = [];
    const worker = async () => {
      while (next < PAIRS) {
        next++;
        const a = new PeerLink(randomPeerId(), { initiator: true, wrtc: impls, connectTimeoutMs: 10_000 });
        const b = new PeerLink(randomPeerId(), { initiator: false, wrtc: impls, connectTimeoutMs: 10_000 });
        a.on('signal', (data) => b.signal(data));
        b.on('signal', (data) => a.signal(data));
        // Both open, or one closes first (at the latest on its connect timeout, ERR_NO_ROUTE).
        const outcome = await new Promise<string>((resolve) => {
          let open = 0;
          const opened = () => ++open === 2 && resolve('open');
          a.once('connect', opened);
          b.once('connect', opened);
          a.once('close', (code, reason) => resolve(`offerer ${code}: ${reason}`));
          b.once('close', (code, reason) => resolve(`answerer ${code}: ${reason}`));
        });
        if (outcome !== 'open') failed.push(outcome);
        a.close();
        b.close();
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    expect(failed).toEqual([]);
  }, 120_000);
});
