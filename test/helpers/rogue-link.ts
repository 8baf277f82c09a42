import { randomBytes } from 'node:crypto';
import { type PeerIdentity, PeerLink, signSignal, verifySignalEnvelope } from '@ringswarm/shared';
import type { Socket } from 'socket.io-client';
import { emit } from './tracker-socket.js';
import { waitFor } from './until.js';
import { wrtc } from './wrtc.js';

/**
 * A raw PeerLink from a peer that speaks the tracker protocol by hand (`socket`, connected as
 * `identity.peerId`) to `target`, signaled honestly: its own signals signed with its own key,
 * in order, and the target's checked. Resolves once the link is open. `links` keeps it for
 * cleanup.
 */
export async function rogueLinkTo(
  socket: Socket,
  identity: PeerIdentity,
  target: string,
  links: PeerLink[],
): Promise<PeerLink> {
  const sid = randomBytes(8).toString('hex');
  const link = new PeerLink(target, { initiator: true, wrtc });
  links.push(link);
  let queue = Promise.resolve();
  link.on('signal', (data) => {
    queue = queue
      .then(() => signSignal(identity, target, sid, data))
      .then((envelope) => emit(socket, 'signal', { to: target, data: envelope }))
      .then(() => {});
  });
  const onSignal = ({ from, data }: { from: string; data: unknown }) => {
    if (from !== target) return;
    const verified = verifySignalEnvelope(data, target, identity.peerId);
    if (verified?.sid === sid) for (const signal of verified.signals) link.signal(signal);
  };
  socket.on('signal', onSignal);
  link.once('close', () => socket.off('signal', onSignal));
  await waitFor(link, 'connect', 15_000);
  return link;
}
