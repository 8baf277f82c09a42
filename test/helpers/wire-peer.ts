/**
 * A swarm peer made by hand that holds the link (the infohash): it joins the swarm on the
 * tracker, opens a real WebRTC link to a member (the plumbing is {@link Outsider}'s), passes
 * the capability handshake honestly, and then does only what the test tells it to with each
 * message it gets. Used to play peers that stop answering, or flood requests.
 */
import { randomBytes } from 'node:crypto';
import {
  CAPABILITY_NONCE_BYTES,
  capabilityProof,
  decodeMessage,
  discoveryKeyOf,
  encodeMessage,
  isSwarmFrame,
  type WireMessage,
} from '@ringswarm/shared';
import { capHandshakeFrame, Outsider } from './outsider.js';
import { until } from './until.js';

export class WirePeer {
  readonly #plumbing: Outsider;
  readonly infoHash: string;
  readonly discoveryKey: string;
  /** Every swarm message the remote sent, in order, with the time it came (Date.now()). */
  readonly inbox: { msg: WireMessage; at: number }[] = [];
  /** True once the remote's capability proof arrived (it then treats us as a member). */
  proven = false;
  /** What the test does with each message after the handshake; default: nothing (a silent peer). */
  onMessage: (msg: WireMessage) => void = () => {};

  constructor(trackerUrl: string, infoHash: string) {
    this.#plumbing = new Outsider(trackerUrl);
    this.infoHash = infoHash;
    this.discoveryKey = discoveryKeyOf(infoHash);
  }

  get peerId(): string {
    return this.#plumbing.peerId;
  }

  /** Joins the swarm on the tracker; the peers it names. */
  announce(): Promise<string[]> {
    return this.#plumbing.announce(this.discoveryKey);
  }

  /**
   * Opens a link to `remoteId` (as the WebRTC offerer and the first to send a handshake) and
   * proves the capability. Resolves once the remote's proof came back.
   */
  async open(remoteId: string, wrtc: object, ms = 20_000): Promise<void> {
    const link = await this.#plumbing.connect(remoteId, wrtc);
    const nonce = new Uint8Array(randomBytes(CAPABILITY_NONCE_BYTES));
    link.on('frame', (frame) => {
      if (!isSwarmFrame(frame)) return; // the remote's ring HELLO, if any
      const msg = decodeMessage(frame);
      this.inbox.push({ msg, at: Date.now() });
      if (msg.type === 'handshake') {
        const fp = this.#plumbing.fingerprints();
        const transcript = {
          discoveryKey: this.discoveryKey,
          initiatorFingerprint: fp.initiator,
          responderFingerprint: fp.responder,
          openerNonce: nonce,
          responderNonce: msg.nonce,
        };
        this.send({ type: 'capability', proof: capabilityProof(this.infoHash, transcript, 'opener') });
      } else if (msg.type === 'capability') {
        this.proven = true;
      } else {
        this.onMessage(msg);
      }
    });
    link.send(capHandshakeFrame(this.discoveryKey, this.peerId, nonce));
    await until(() => this.proven, ms, "the remote's capability proof");
  }

  send(msg: WireMessage): void {
    this.#plumbing.link.send(encodeMessage(msg));
  }

  /** Messages of one type received so far. */
  received<T extends WireMessage['type']>(type: T): (WireMessage & { type: T })[] {
    return this.inbox.map((e) => e.msg).filter((m): m is WireMessage & { type: T } => m.type === type);
  }

  /** Closes the link and the tracker connection. Idempotent. */
  destroy(): void {
    this.#plumbing.destroy();
  }
}
