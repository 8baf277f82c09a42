/**
 * PeerLink: the one place simple-peer is used. One RTCPeerConnection to one remote peer,
 * one ordered data channel carrying binary frames. Works in the browser (native WebRTC)
 * and in Node (pass `wrtc`, e.g. @roamhq/wrtc).
 *
 * Backpressure: frames go straight onto the data channel, and `send()` returns false once
 * the channel's `bufferedAmount` passes {@link SEND_HIGH_WATER}; `drain` follows when it
 * falls to {@link SEND_LOW_WATER}. simple-peer's own write() path is not used: it holds the
 * channel's buffer at 64 KiB (its MAX_BUFFERED_AMOUNT), which keeps a Chromium data
 * channel to a fraction of what it can carry.
 */
import SimplePeer from 'simple-peer';
import { Emitter } from '../emitter.js';
import { ErrorCode } from '../protocol/errors.js';

/** Give up on a connection that has not opened by then. */
export const CONNECT_TIMEOUT_MS = 20_000;
/** Bytes buffered in the data channel before `send()` asks the caller to wait. */
export const SEND_HIGH_WATER = 4 * 1024 * 1024;
/** `drain` is emitted when the channel's buffer falls to this many bytes. */
export const SEND_LOW_WATER = 1024 * 1024;
/** How often the buffer is polled where `bufferedamountlow` is not supported. */
const DRAIN_POLL_MS = 20;

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
  #channel: RTCDataChannel | null = null;
  /** Frames sent before the channel opened, in order. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #waitingForDrain = false;
  #poll: ReturnType<typeof setInterval> | undefined;

  constructor(remoteId: string, options: PeerLinkOptions) {
    super();
    this.remoteId = remoteId;
    this.initiator = options.initiator;
    const peerOptions: SimplePeer.Options = {
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers ?? [] },
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
      this.#watchChannel();
      const pending = this.#pending;
      this.#pending = [];
      this.#pendingBytes = 0;
      for (const frame of pending) this.send(frame);
      this.emit('connect');
    });
    this.#peer.on('data', (data: unknown) => {
      if (this.#destroyed) return;
      if (!(data instanceof Uint8Array)) return this.close(ErrorCode.BAD_FRAME);
      this.emit('frame', new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
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
   * Frames sent before `connect` are held and sent once the channel opens (the remote
   * can open the channel and speak before our own `connect` fires).
   */
  send(frame: Uint8Array): boolean {
    if (this.#destroyed) return false;
    const channel = this.#channel;
    if (!this.#connected || !channel) {
      this.#pending.push(frame);
      this.#pendingBytes += frame.byteLength;
      return this.#pendingBytes < SEND_HIGH_WATER;
    }
    try {
      this.#peer.send(frame);
    } catch {
      this.close('ERR_DATA_CHANNEL');
      return false;
    }
    if (channel.bufferedAmount < SEND_HIGH_WATER) return true;
    this.#waitingForDrain = true;
    return false;
  }

  /** Hooks the data channel's low-buffer signal (simple-peer's own handler still runs). */
  #watchChannel(): void {
    const channel = (this.#peer as unknown as { _channel?: RTCDataChannel })._channel ?? null;
    this.#channel = channel;
    if (!channel) return;
    const onLow = () => {
      if (this.#destroyed || !this.#waitingForDrain || channel.bufferedAmount > SEND_LOW_WATER) return;
      this.#waitingForDrain = false;
      this.emit('drain');
    };
    if (typeof channel.bufferedAmountLowThreshold === 'number') {
      channel.bufferedAmountLowThreshold = SEND_LOW_WATER;
      const inner = channel.onbufferedamountlow;
      channel.onbufferedamountlow = (event) => {
        inner?.call(channel, event);
        onLow();
      };
    } else {
      this.#poll = setInterval(onLow, DRAIN_POLL_MS);
    }
  }

  /** Closes the connection. Idempotent; `close` is emitted once, last. */
  close(code?: string): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#pending = [];
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
