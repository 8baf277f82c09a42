/**
 * A peer that knows a share's discovery key but not its infohash: it joins the swarm on the
 * tracker, opens its own WebRTC link to a member (or answers one the member opens) and speaks
 * raw frames. It records every frame it is sent, and the DTLS fingerprints of its link (read
 * from the two session descriptions), so it can build a proof right in every part but the key.
 */
import { randomBytes } from 'node:crypto';
import {
  CAPABILITY_NONCE_BYTES,
  MessageType,
  PeerLink,
  type RelayedSignal,
  randomIdentity,
  SWARM_HANDSHAKE,
  sdpFingerprint,
  TrackerClient,
  verifySignalEnvelope,
  WIRE_VERSION,
} from '@ringswarm/shared';
import { signOutgoing } from './signed-signals.js';
import { until, waitFor } from './until.js';

/** The capability handshake of issue 16: `[0] 0x10, [1] version, [2..34) discovery key, [34..54) peer ID, [54..86) nonce`. */
export const CAP_HANDSHAKE = {
  type: SWARM_HANDSHAKE.type,
  versionOffset: 1,
  discoveryKeyOffset: 2,
  peerIdOffset: 34,
  nonceOffset: 54,
  length: 86,
} as const;

/** Type byte of the capability frame (`[0] type, [1..33) proof`). */
export const CAPABILITY_FRAME_TYPE = MessageType.CAPABILITY;

/** A capability frame carrying `proof`. */
export function capabilityFrame(proof: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + proof.length);
  frame[0] = CAPABILITY_FRAME_TYPE;
  frame.set(proof, 1);
  return frame;
}

/** A well-formed capability handshake frame. */
export function capHandshakeFrame(discoveryKey: string, peerId: string, nonce: Uint8Array): Uint8Array {
  const frame = new Uint8Array(CAP_HANDSHAKE.length);
  frame[0] = CAP_HANDSHAKE.type;
  frame[CAP_HANDSHAKE.versionOffset] = WIRE_VERSION;
  frame.set(Buffer.from(discoveryKey, 'hex'), CAP_HANDSHAKE.discoveryKeyOffset);
  frame.set(Buffer.from(peerId, 'hex'), CAP_HANDSHAKE.peerIdOffset);
  frame.set(nonce, CAP_HANDSHAKE.nonceOffset);
  return frame;
}

/** The nonce of a capability handshake frame; null when the frame is not one. */
export function capHandshakeNonce(frame: Uint8Array): Uint8Array | null {
  if (frame[0] !== CAP_HANDSHAKE.type || frame.byteLength !== CAP_HANDSHAKE.length) return null;
  return frame.slice(CAP_HANDSHAKE.nonceOffset, CAP_HANDSHAKE.length);
}

export class Outsider {
  /** It signs its signals honestly, with a key of its own: what it lacks is the infohash. */
  readonly identity = randomIdentity();
  readonly peerId = this.identity.peerId;
  readonly nonce = new Uint8Array(randomBytes(CAPABILITY_NONCE_BYTES));
  readonly tracker: TrackerClient;
  /** Every frame the remote sent, in order. */
  readonly frames: Uint8Array[] = [];
  #link: PeerLink | null = null;
  #localSdp: string | null = null;
  #remoteSdp: string | null = null;
  /** Stops an {@link Outsider.accept} still waiting for its offer. */
  #stopWaiting: (() => void) | null = null;

  constructor(trackerUrl: string) {
    this.tracker = new TrackerClient(trackerUrl, this.identity);
  }

  /** The type byte of every frame received, in order. */
  get received(): number[] {
    return this.frames.map((f) => f[0] ?? -1);
  }

  get link(): PeerLink {
    if (!this.#link) throw new Error('not connected');
    return this.#link;
  }

  /** Joins the swarm of `discoveryKey` as a leecher without a manifest; the peers the tracker names. */
  async announce(discoveryKey: string): Promise<string[]> {
    const res = await this.tracker.announce({
      discoveryKey,
      event: 'started',
      left: null,
      uploaded: 0,
      downloaded: 0,
      numwant: 50,
    });
    return res.peers;
  }

  /** Opens a WebRTC link to `remoteId` (as the offerer), signaled through the tracker. */
  async connect(remoteId: string, wrtc: object): Promise<PeerLink> {
    // Peer signaling carries a session id beside simple-peer's data (see net/signal-router.ts).
    const link = this.#open(remoteId, wrtc, randomBytes(8).toString('hex'), null);
    await waitFor(link, 'connect', 20_000);
    return link;
  }

  /** Waits for `remoteId` to open a link to us (its offer, through the tracker) and answers it. */
  async accept(remoteId: string, wrtc: object, ms: number): Promise<PeerLink> {
    const opened = new Promise<PeerLink>((resolve, reject) => {
      const stop = () => {
        clearTimeout(timer);
        this.tracker.off('signal', onOffer);
        this.#stopWaiting = null;
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no offer from ${remoteId.slice(0, 8)} within ${ms} ms`));
      }, ms);
      const onOffer = ({ from, data }: RelayedSignal) => {
        const verified = from === remoteId ? verifySignalEnvelope(data, remoteId, this.peerId) : null;
        const [offer, ...candidates] = verified?.signals ?? [];
        if (!verified || offer?.type !== 'offer') return;
        stop();
        const link = this.#open(remoteId, wrtc, verified.sid, offer);
        for (const signal of candidates) link.signal(signal);
        resolve(link);
      };
      this.tracker.on('signal', onOffer);
      this.#stopWaiting = stop;
    });
    const link = await opened;
    await waitFor(link, 'connect', 20_000);
    return link;
  }

  /** A link signaled under `sid`: the offerer's, or (given the remote's offer) the answerer's. */
  #open(remoteId: string, wrtc: object, sid: string, offer: Record<string, unknown> | null): PeerLink {
    const link = new PeerLink(remoteId, { initiator: offer === null, wrtc });
    this.#link = link;
    const sdpOf = (signal: Record<string, unknown>) =>
      (signal.type === 'offer' || signal.type === 'answer') && typeof signal.sdp === 'string' ? signal.sdp : null;
    link.on('signal', (signal) => {
      this.#localSdp = sdpOf(signal) ?? this.#localSdp;
    });
    signOutgoing(link, this.identity, remoteId, sid, (envelope, refused) =>
      this.tracker.signal(remoteId, envelope, refused),
    );
    const onSignal = ({ from, data }: RelayedSignal) => {
      const verified = from === remoteId ? verifySignalEnvelope(data, remoteId, this.peerId) : null;
      if (verified?.sid !== sid) return;
      for (const signal of verified.signals) {
        this.#remoteSdp = sdpOf(signal) ?? this.#remoteSdp;
        link.signal(signal);
      }
    };
    this.tracker.on('signal', onSignal);
    link.once('close', () => this.tracker.off('signal', onSignal));
    link.on('frame', (frame) => this.frames.push(frame.slice()));
    if (offer) {
      this.#remoteSdp = sdpOf(offer);
      link.signal(offer);
    }
    return link;
  }

  /** Normalized DTLS fingerprints of the link, by WebRTC role (as the proofs order them). */
  fingerprints(): { initiator: string; responder: string } {
    const local = this.#localSdp === null ? null : sdpFingerprint(this.#localSdp);
    const remote = this.#remoteSdp === null ? null : sdpFingerprint(this.#remoteSdp);
    if (local === null || remote === null) throw new Error('no fingerprint in the session descriptions');
    return this.link.initiator ? { initiator: local, responder: remote } : { initiator: remote, responder: local };
  }

  /** Resolves with the first received frame of type `type` (already received, or the next). */
  async frameOfType(type: number, ms: number): Promise<Uint8Array> {
    const find = () => this.frames.find((f) => f[0] === type);
    await until(() => find() !== undefined, ms, `a frame of type 0x${type.toString(16)}`);
    return find()!;
  }

  /** Closes the link and the tracker connection. Idempotent. */
  destroy(): void {
    this.#stopWaiting?.();
    this.#link?.close();
    this.tracker.destroy();
  }
}
