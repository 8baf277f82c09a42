import {
  type PeerIdentity,
  type PeerLink,
  type SignalEnvelope,
  signSignal,
  verifySignalEnvelope,
} from '@ringswarm/shared';

/**
 * For links made by hand in tests, signaled honestly: `link`'s own signals signed with
 * `identity` for `remoteId` under `sid`, in order (the offer before its candidates), each
 * envelope handed to `send`. A send that fails (the tracker no longer takes it, the test is
 * over) closes the link.
 */
export function signOutgoing(
  link: PeerLink,
  identity: PeerIdentity,
  remoteId: string,
  sid: string,
  send: (envelope: SignalEnvelope, onRefused: () => void) => void,
): void {
  let queue = Promise.resolve();
  const refused = () => link.close();
  link.on('signal', (signal) => {
    queue = queue
      .then(() => signSignal(identity, remoteId, sid, signal))
      .then((envelope) => send(envelope, refused), refused);
  });
}

/**
 * Feeds `link` the signals `data` carries when it is a valid envelope from `remoteId` to
 * `selfId` under `sid`, relayed as coming `from` it; anything else is ignored. True if fed.
 */
export function feedVerified(
  link: PeerLink,
  from: string,
  data: unknown,
  remoteId: string,
  selfId: string,
  sid: string,
): boolean {
  const verified = from === remoteId ? verifySignalEnvelope(data, remoteId, selfId) : null;
  if (verified?.sid !== sid) return false;
  for (const signal of verified.signals) link.signal(signal);
  return true;
}
