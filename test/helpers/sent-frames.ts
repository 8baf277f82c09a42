import { type CreateLink, createPeerLink, type Link } from '@ringswarm/shared';

/**
 * Makes a client's links (real PeerLinks) and records the type byte of every frame the
 * client sends on them, by remote peer: what a peer gave away, whether or not it arrived
 * before the link went down.
 */
export class SentFrames {
  readonly #byPeer = new Map<string, number[]>();

  readonly createLink: CreateLink = (remoteId, initiator, options) => {
    const link = createPeerLink(remoteId, initiator, options);
    const record = (frame: Uint8Array) => {
      let types = this.#byPeer.get(remoteId);
      if (!types) {
        types = [];
        this.#byPeer.set(remoteId, types);
      }
      types.push(frame[0] ?? -1);
    };
    // Everything else goes to the link itself, bound to it (PeerLink keeps private fields).
    return new Proxy(link, {
      get(target, prop) {
        if (prop === 'send') {
          return (frame: Uint8Array) => {
            record(frame);
            return target.send(frame);
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) satisfies Link;
  };

  /** Type bytes of the frames sent to `remoteId`, in order. */
  to(remoteId: string): number[] {
    return [...(this.#byPeer.get(remoteId) ?? [])];
  }
}
