import { randomBytes } from 'node:crypto';
import { type PeerIdentity, PeerLink } from '@ringswarm/shared';
import type { Socket } from 'socket.io-client';
import { feedVerified, signOutgoing } from './signed-signals.js';
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
  signOutgoing(link, identity, target, sid, (envelope) => emit(socket, 'signal', { to: target, data: envelope }));
  const onSignal = ({ from, data }: { from: string; data: unknown }) => {
    feedVerified(link, from, data, target, identity.peerId, sid);
  };
  socket.on('signal', onSignal);
  link.once('close', () => socket.off('signal', onSignal));
  await waitFor(link, 'connect', 15_000);
  return link;
}
