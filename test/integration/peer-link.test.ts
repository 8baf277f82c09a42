/**
 * PeerLink over real WebRTC (@roamhq/wrtc): the DTLS fingerprints it reads from the two
 * session descriptions, which the capability proofs bind to.
 */
import { PeerLink } from '@ringswarm/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { randomPeerId } from '../helpers/tracker-socket.js';
import { waitFor } from '../helpers/until.js';
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
