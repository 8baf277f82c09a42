/**
 * PeerLink: the one place simple-peer is used. One RTCPeerConnection to one remote peer,
 * one ordered data channel carrying binary frames. Works in the browser (native WebRTC)
 * and in Node (pass `wrtc`, e.g. @roamhq/wrtc).
 *
 * Backpressure: `send()` returns false once simple-peer's write buffer is over its high
 * water mark (simple-peer itself holds writes while the channel's `bufferedAmount` is
 * high); wait for `drain` before sending more.
 */
import SimplePeer from 'simple-peer';
import { Emitter } from '../emitter.js';
import { ErrorCode } from '../protocol/errors.js';

/** Give up on a connection that has not opened by then. */
export const CONNECT_TIMEOUT_MS = 20_000;
/** Bytes queued in the link's write buffer before `send()` asks the caller to wait. */
export const WRITE_HIGH_WATER_MARK = 1024 * 1024;

export interface PeerLinkOptions {
  /** True for the side that creates the offer. */
  initiator: boolean;
  /** A WebRTC implementation for Node (`@roamhq/wrtc`); browsers use their own. */
  wrtc?: object;
  /** STUN/TURN servers; default none (host candidates only). */
  iceServers?: RTCIceServer[];
  /** Default {@link CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
}

export type PeerLinkEvents = {
  /** Signaling data to deliver to the remote peer (offer, answer, ICE candidate). */
  signal: [data: Record<string, unknown>];
  connect: [];
  frame: [frame: Uint8Array];
  drain: [];
  /** Emitted once, last; `code` says why when the close was not a plain hang-up. */
  close: [code?: string];
};

export class PeerLink extends Emitter<PeerLinkEvents> {
  readonly remoteId: string;
  readonly initiator: boolean;
  #peer: SimplePeer.Instance;
  #connected = false;
  #destroyed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(remoteId: string, options: PeerLinkOptions) {
    super();
    this.remoteId = remoteId;
    this.initiator = options.initiator;
    const peerOptions: SimplePeer.Options & { writableHighWaterMark: number } = {
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers ?? [] },
      writableHighWaterMark: WRITE_HIGH_WATER_MARK,
    };
    if (options.wrtc) peerOptions.wrtc = options.wrtc as SimplePeer.Options['wrtc'];
    this.#peer = new SimplePeer(peerOptions);
    this.#peer.on('signal', (data: SimplePeer.SignalData) => {
      if (!this.#destroyed) this.emit('signal', data as unknown as Record<string, unknown>);
    });
    this.#peer.on('connect', () => {
      if (this.#destroyed) return;
      this.#connected = true;
      clearTimeout(this.#timer);
      this.emit('connect');
    });
    this.#peer.on('data', (data: unknown) => {
      if (this.#destroyed) return;
      if (!(data instanceof Uint8Array)) return this.close(ErrorCode.BAD_FRAME);
      this.emit('frame', new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    this.#peer.on('drain', () => {
      if (!this.#destroyed) this.emit('drain');
    });
    this.#peer.on('close', () => this.close());
    this.#peer.on('error', (err: Error & { code?: string }) => this.close(err.code ?? 'ERR_WEBRTC'));
    this.#timer = setTimeout(() => this.close('ERR_CONNECT_TIMEOUT'), options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
  }

  get connected(): boolean {
    return this.#connected && !this.#destroyed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Feeds signaling data received from the remote peer. Bad data closes the link. */
  signal(data: Record<string, unknown>): void {
    if (this.#destroyed) return;
    try {
      this.#peer.signal(data as unknown as SimplePeer.SignalData);
    } catch {
      this.close(ErrorCode.INVALID_PAYLOAD);
    }
  }

  /**
   * Sends one binary frame; returns false when the caller should wait for `drain`.
   * Frames written before `connect` are held and sent once the channel opens (the remote
   * can open the channel and speak before our own `connect` fires).
   */
  send(frame: Uint8Array): boolean {
    if (this.#destroyed) return false;
    return this.#peer.write(frame);
  }

  /** Closes the connection. Idempotent; `close` is emitted once, last. */
  close(code?: string): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#timer);
    this.#peer.removeAllListeners();
    // simple-peer can emit a late 'error' while tearing down; keep it from going unhandled.
    this.#peer.on('error', () => {});
    this.#peer.destroy();
    this.emit('close', code);
    this.removeAllListeners();
  }

  destroy(): void {
    this.close();
  }
}
