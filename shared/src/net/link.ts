/**
 * What the link pool and the signaling router need from one connection to a remote peer.
 * {@link PeerLink} (WebRTC through simple-peer) is the real one; tests pass fakes, so the
 * pool's budget and the router's path choice run without WebRTC.
 */
import type { SelectedPair } from './peer-link.js';

export type LinkEvents = {
  /** Signaling data to deliver to the remote peer (offer, answer, ICE candidate). */
  signal: [data: Record<string, unknown>];
  connect: [];
  frame: [frame: Uint8Array];
  drain: [];
  /**
   * Emitted once, last; `code` says why when the close was not a plain hang-up, and `reason`
   * is the underlying error's own message when there was one (for logs, never parsed).
   */
  close: [code?: string, reason?: string];
};

type Listener<K extends keyof LinkEvents> = (...args: LinkEvents[K]) => void;

export interface Link {
  readonly remoteId: string;
  /** True for the side that creates the offer. */
  readonly initiator: boolean;
  /** The data channel is open. */
  readonly connected: boolean;
  /** Closed; nothing more is sent or emitted. */
  readonly destroyed: boolean;
  on<K extends keyof LinkEvents>(event: K, listener: Listener<K>): unknown;
  once<K extends keyof LinkEvents>(event: K, listener: Listener<K>): unknown;
  off<K extends keyof LinkEvents>(event: K, listener: Listener<K>): unknown;
  /** Feeds signaling data received from the remote peer. */
  signal(data: Record<string, unknown>): void;
  /** Sends one frame; false when the caller should wait for `drain`. */
  send(frame: Uint8Array): boolean;
  /**
   * Hands over the frames sent before the channel opened, which would otherwise go when it
   * opens, and keeps none: a link that yields to the remote's own offer passes them to the
   * link that replaces it. Empty once connected or closed.
   */
  takeUnsent(): Uint8Array[];
  /** Closes the connection. Idempotent; `close` is emitted once, last. */
  close(code?: string): void;
  /** How an open connection gets through; null when not open or not known. */
  selectedPair(): Promise<SelectedPair | null>;
  /**
   * The DTLS certificate fingerprints of the connection, each normalized with
   * `sdpFingerprint`: ours from the local session description, the remote's from the one it
   * sent. Null until both descriptions are known (and when a description declares none).
   */
  fingerprints(): { local: string; remote: string } | null;
}

/** Options for every new link besides its role: the WebRTC implementation and ICE servers. */
export interface LinkOptions {
  /** A WebRTC implementation for Node (`@roamhq/wrtc`); browsers use their own. */
  wrtc?: object;
  /** STUN/TURN servers; default none (host candidates only). */
  iceServers?: RTCIceServer[];
}

/** Makes the link to one remote peer; `initiator` is the side that sends the offer. */
export type CreateLink = (remoteId: string, initiator: boolean, options: Readonly<LinkOptions>) => Link;
