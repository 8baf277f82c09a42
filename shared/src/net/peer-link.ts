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
 *
 * Every queue is capped, in bytes and in frames: frames held before the channel opens
 * ({@link PENDING_MAX_BYTES}, {@link PENDING_MAX_FRAMES}) and what the open channel has not
 * sent yet ({@link SEND_MAX_BYTES}, {@link SEND_MAX_FRAMES}). A frame that would pass a cap
 * closes the link with `ERR_LINK_QUEUE_FULL` (and `send()` returns false). Closing, not
 * dropping the one frame: callers read `false` as "accepted, wait for drain" and many never
 * look, so a silently dropped frame would leave the two ends of an ordered protocol out of
 * step; a throw would escape their event handlers. A close with a code is what every
 * caller already handles (the swarm drops the peer and asks others, the pool counts a failure).
 *
 * The offerer's own ICE candidates wait for the answer (held, at most
 * {@link MAX_HELD_CANDIDATES}, and left out of the offer's SDP, which repeats those gathered
 * so far). An answerer that has them checks them at once and, over a short path, finishes
 * ICE and sends its DTLS hello before the answer has come back through signaling;
 * libdatachannel (node-datachannel) then fails the connection ("Got a remote candidate
 * without ICE transport"; 7 of 1500 pairs signaled straight into each other, `npm run
 * bench:wrtc`). Held, the answerer meets the offerer's checks, which start once the answer
 * is in anyway; what it costs is one signaling trip for the candidates (set-up of a pair
 * signaled straight into each other: 9.6 ms before, 11.6 ms after, under libdatachannel).
 *
 * NAT traversal: ICE servers (STUN/TURN) are options. A link that never opens — ICE failed,
 * or {@link CONNECT_TIMEOUT_MS} passed — closes with `ERR_NO_ROUTE`; {@link PeerLink.selectedPair}
 * says how an open link got through (host, srflx, prflx or relay on each side).
 */
import SimplePeer from 'simple-peer';
import { sdpFingerprint } from '../protocol/capability.js';
import { ErrorCode } from '../protocol/errors.js';
import { Emitter } from '../util/emitter.js';
import type { CreateLink, Link, LinkEvents, LinkOptions } from './link.js';

/** Give up on a connection that has not opened by then. */
export const CONNECT_TIMEOUT_MS = 20_000;
/** Bytes buffered in the data channel before `send()` asks the caller to wait. */
export const SEND_HIGH_WATER = 4 * 1024 * 1024;
/** `drain` is emitted when the channel's buffer falls to this many bytes. */
export const SEND_LOW_WATER = 1024 * 1024;
/**
 * Hard cap on bytes the open channel holds unsent (its `bufferedAmount` plus the new frame).
 * Twice the high-water mark: a caller that stops at `false` stays far below it. Under
 * libwebrtc's own 16 MiB, past which the channel closes itself with no reason given.
 */
export const SEND_MAX_BYTES = 2 * SEND_HIGH_WATER;
/** Hard cap on frames the open channel holds unsent (4096 blocks of 16 KiB = 64 MiB would pass {@link SEND_MAX_BYTES} first). */
export const SEND_MAX_FRAMES = 4096;
/** Before the channel opens, `send()` returns false once this many bytes are held. */
export const PENDING_HIGH_WATER = 1024 * 1024;
/** Hard cap on bytes held before the channel opens. */
export const PENDING_MAX_BYTES = SEND_HIGH_WATER;
/** Hard cap on frames held before the channel opens. */
export const PENDING_MAX_FRAMES = 1024;
/** Candidates an offerer holds until the answer; later ones are dropped (a host has a few). */
export const MAX_HELD_CANDIDATES = 64;
/** How often the buffer is polled where `bufferedamountlow` is not supported. */
const DRAIN_POLL_MS = 20;
/** simple-peer's error codes for an ICE or DTLS transport that failed. */
const FAILURE_CODES = new Set(['ERR_ICE_CONNECTION_FAILURE', 'ERR_CONNECTION_FAILURE']);

/**
 * How a candidate reaches the network: `host` an address of the machine itself, `srflx` its
 * public address as a STUN server saw it, `prflx` an address learned from a connectivity
 * check (a NAT mapping STUN did not predict), `relay` an address on a TURN server.
 */
export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';

export interface CandidateInfo {
  type: CandidateType;
  address: string;
  port: number;
  /** `udp` or `tcp`. */
  protocol: string;
}

/** The candidate pair ICE selected: the two ends the connection's packets really use. */
export interface SelectedPair {
  local: CandidateInfo;
  remote: CandidateInfo;
}

type Stat = Record<string, unknown>;

const CANDIDATE_TYPES: readonly string[] = ['host', 'srflx', 'prflx', 'relay'] satisfies CandidateType[];
const isCandidateType = (v: string | undefined): v is CandidateType => v !== undefined && CANDIDATE_TYPES.includes(v);

const isRecord = (v: unknown): v is Stat => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The entries of a getStats() result: a browser RTCStatsReport, a Map, or a plain object. */
function statsEntries(report: unknown): Map<string, Stat> {
  const out = new Map<string, Stat>();
  if (!isRecord(report)) return out;
  const add = (value: unknown, key: unknown) => {
    if (!isRecord(value)) return;
    const id = str(value.id) ?? str(key);
    if (id !== undefined) out.set(id, value);
  };
  const forEach = report.forEach;
  if (typeof forEach === 'function') forEach.call(report, add);
  else for (const [key, value] of Object.entries(report)) add(value, key);
  return out;
}

/** An SDP without its `a=candidate` and `a=end-of-candidates` lines. */
export function sdpWithoutCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') && line !== 'a=end-of-candidates')
    .join('\r\n');
}

/** The SDP text of a session description (an RTCSessionDescription or a plain object). */
function sdpOf(description: unknown): string | null {
  return isRecord(description) && typeof description.sdp === 'string' ? description.sdp : null;
}

function candidateOf(stat: Stat | undefined): CandidateInfo | null {
  if (!stat) return null;
  const type = str(stat.candidateType);
  // `address` is the standard name; older browsers (and @roamhq/wrtc, too) also give `ip`.
  const address = str(stat.address) ?? str(stat.ip) ?? str(stat.ipAddress);
  const port = typeof stat.port === 'number' ? stat.port : stat.portNumber;
  const protocol = str(stat.protocol) ?? str(stat.transport) ?? 'udp';
  if (!isCandidateType(type) || address === undefined) return null;
  if (typeof port !== 'number' || !Number.isInteger(port)) return null;
  return { type, address, port, protocol };
}

/**
 * The selected candidate pair in a getStats() result: the one the transport names
 * (`selectedCandidatePairId`), else one flagged `selected` (Firefox), else the nominated
 * pair that succeeded. Null when the report does not say.
 */
export function selectedPairOf(report: unknown): SelectedPair | null {
  const stats = statsEntries(report);
  let pair: Stat | undefined;
  for (const s of stats.values()) {
    const id = s.type === 'transport' ? str(s.selectedCandidatePairId) : undefined;
    if (id !== undefined && stats.get(id)?.type === 'candidate-pair') pair = stats.get(id);
  }
  if (!pair) {
    const pairs = [...stats.values()].filter((s) => s.type === 'candidate-pair');
    pair = pairs.find((s) => s.selected === true) ?? pairs.find((s) => s.nominated === true && s.state === 'succeeded');
  }
  if (!pair) return null;
  const local = candidateOf(stats.get(str(pair.localCandidateId) ?? ''));
  const remote = candidateOf(stats.get(str(pair.remoteCandidateId) ?? ''));
  return local && remote ? { local, remote } : null;
}

/**
 * How many frames a data channel still holds, from its `bufferedAmount` alone: the channel
 * sends in order, so the frames not sent yet are those that end past the bytes it sent
 * (everything handed to it less what it still buffers). Holds one number per unsent frame.
 */
export class ChannelBacklog {
  /** Where each frame ends, as a running byte total, oldest first from `#head` on. */
  #ends: number[] = [];
  #head = 0;
  #total = 0;

  /** A frame of `bytes` was handed to the channel. */
  add(bytes: number): void {
    this.#total += bytes;
    this.#ends.push(this.#total);
  }

  /** Frames not sent yet, given the channel's `bufferedAmount` now; forgets those it sent. */
  frames(bufferedAmount: number): number {
    const sent = this.#total - bufferedAmount;
    const ends = this.#ends;
    let head = this.#head;
    while (head < ends.length && (ends[head] ?? 0) <= sent) head++;
    if (head > 1024 && head * 2 > ends.length) {
      ends.splice(0, head);
      head = 0;
    }
    this.#head = head;
    return ends.length - head;
  }
}

type Description = { type?: unknown; sdp?: unknown };
type PeerConnectionClass = new (
  ...args: unknown[]
) => { createOffer(...args: unknown[]): Promise<Description>; createAnswer(...args: unknown[]): Promise<Description> };
const adaptedWrtc = new WeakMap<object, object>();

/**
 * The WebRTC implementation as simple-peer needs it. simple-peer assigns `offer.sdp` (its
 * sdpTransform) on what createOffer/createAnswer return; node-datachannel's polyfill returns
 * RTCSessionDescription objects whose `sdp` is a getter only, so the assignment throws
 * (ERR_CREATE_OFFER). Such an implementation gets a peer connection class whose descriptions
 * are plain objects; any other is passed through as it is.
 */
export function wrtcForSimplePeer(wrtc: object): object {
  const known = adaptedWrtc.get(wrtc);
  if (known) return known;
  const impl: { RTCPeerConnection?: unknown; RTCSessionDescription?: unknown } = wrtc;
  const Base = impl.RTCPeerConnection;
  const Sd = impl.RTCSessionDescription;
  const proto: unknown = typeof Sd === 'function' ? Sd.prototype : null;
  const sdp = isRecord(proto) ? Object.getOwnPropertyDescriptor(proto, 'sdp') : undefined;
  let out = wrtc;
  if (typeof Base === 'function' && sdp?.get && !sdp.set) {
    const plain = (d: Description): Description => ({ type: d.type, sdp: d.sdp });
    // A class from a WebRTC implementation; its shape is what simple-peer itself relies on.
    class PlainDescriptionPeerConnection extends (Base as PeerConnectionClass) {
      override async createOffer(...args: unknown[]): Promise<Description> {
        return plain(await super.createOffer(...args));
      }
      override async createAnswer(...args: unknown[]): Promise<Description> {
        return plain(await super.createAnswer(...args));
      }
    }
    out = { ...wrtc, RTCPeerConnection: PlainDescriptionPeerConnection };
  }
  adaptedWrtc.set(wrtc, out);
  return out;
}

export interface PeerLinkOptions extends LinkOptions {
  /** True for the side that creates the offer. */
  initiator: boolean;
  /** Default {@link CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
}

export type PeerLinkEvents = LinkEvents;

export class PeerLink extends Emitter<PeerLinkEvents> implements Link {
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
  /** Frames handed to the open channel and not sent yet. */
  #backlog = new ChannelBacklog();
  /**
   * The channel's `bufferedAmount` as read after our last send: the channel only drains
   * since, so this bounds it from above. The caps are checked against it and the channel is
   * asked again only near one (in Node each read is a call into the WebRTC thread).
   */
  #buffered = 0;
  #waitingForDrain = false;
  #poll: ReturnType<typeof setInterval> | undefined;
  /** The offerer's candidate signals until the answer is in; null once sent, or on the answerer. */
  #heldCandidates: Record<string, unknown>[] | null;
  /** Read once both descriptions were known; they do not change for the connection's life. */
  #fingerprints: { local: string; remote: string } | null = null;

  constructor(remoteId: string, options: PeerLinkOptions) {
    super();
    this.remoteId = remoteId;
    this.initiator = options.initiator;
    this.#heldCandidates = options.initiator ? [] : null;
    const peerOptions: SimplePeer.Options = {
      initiator: options.initiator,
      trickle: true,
      config: { iceServers: options.iceServers ?? [] },
    };
    if (options.wrtc) peerOptions.wrtc = wrtcForSimplePeer(options.wrtc) as SimplePeer.Options['wrtc'];
    this.#peer = new SimplePeer(peerOptions);
    this.#peer.on('signal', (data: SimplePeer.SignalData) => {
      if (this.#destroyed) return;
      const held = this.#heldCandidates;
      if (held && data.type === 'candidate') {
        if (held.length < MAX_HELD_CANDIDATES) held.push(data as unknown as Record<string, unknown>);
        return;
      }
      if (held && data.type === 'offer' && typeof data.sdp === 'string') {
        this.emit('signal', { type: 'offer', sdp: sdpWithoutCandidates(data.sdp) });
        return;
      }
      this.emit('signal', data as unknown as Record<string, unknown>);
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
      if (this.#destroyed) return;
      this.emit('connect');
      // A caller told to wait before the channel opened hears `drain` even if the flush fit.
      const channel = this.#channel;
      if (!this.#destroyed && this.#waitingForDrain && channel && channel.bufferedAmount <= SEND_LOW_WATER) {
        this.#waitingForDrain = false;
        this.emit('drain');
      }
    });
    this.#peer.on('data', (data: unknown) => {
      if (this.#destroyed) return;
      if (!(data instanceof Uint8Array)) return this.close(ErrorCode.BAD_FRAME);
      this.emit('frame', new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    this.#peer.on('close', () => this.close());
    this.#peer.on('error', (err: Error & { code?: string }) => {
      const code = err.code ?? 'ERR_WEBRTC';
      // ICE giving up before the first connect means no candidate pair worked at all.
      this.close(!this.#connected && FAILURE_CODES.has(code) ? ErrorCode.NO_ROUTE : code, err.message);
    });
    this.#timer = setTimeout(() => this.close(ErrorCode.NO_ROUTE), options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
  }

  get connected(): boolean {
    return this.#connected && !this.#destroyed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /**
   * The candidate pair the connection uses, read from the RTCPeerConnection's stats; null
   * before `connect`, after close, or when the WebRTC implementation does not say.
   */
  async selectedPair(): Promise<SelectedPair | null> {
    if (!this.connected) return null;
    // simple-peer keeps the RTCPeerConnection as `_pc` (and drops it on destroy).
    const pc = (this.#peer as unknown as { _pc?: { getStats?: () => Promise<unknown> } | null })._pc;
    if (typeof pc?.getStats !== 'function') return null;
    try {
      return selectedPairOf(await pc.getStats());
    } catch {
      return null;
    }
  }

  /**
   * The DTLS fingerprints the local and remote session descriptions declare (normalized
   * with `sdpFingerprint`); null until both are set, after close, or when one declares none.
   * The remote's is the one the DTLS handshake checked its certificate against.
   */
  fingerprints(): { local: string; remote: string } | null {
    if (this.#destroyed) return null;
    if (this.#fingerprints) return this.#fingerprints;
    // simple-peer keeps the RTCPeerConnection as `_pc` (and drops it on destroy).
    const pc = (this.#peer as unknown as { _pc?: unknown })._pc;
    if (!isRecord(pc)) return null;
    const local = sdpOf(pc.localDescription);
    const remote = sdpOf(pc.remoteDescription);
    const localFp = local === null ? null : sdpFingerprint(local);
    const remoteFp = remote === null ? null : sdpFingerprint(remote);
    if (localFp === null || remoteFp === null) return null;
    this.#fingerprints = { local: localFp, remote: remoteFp };
    return this.#fingerprints;
  }

  /** Feeds signaling data received from the remote peer. Bad data closes the link. */
  signal(data: Record<string, unknown>): void {
    if (this.#destroyed) return;
    try {
      this.#peer.signal(data as unknown as SimplePeer.SignalData);
    } catch {
      this.close(ErrorCode.INVALID_PAYLOAD);
      return;
    }
    const held = this.#heldCandidates;
    if (held && data.type === 'answer') {
      this.#heldCandidates = null;
      for (const candidate of held) {
        if (this.#destroyed) return;
        this.emit('signal', candidate);
      }
    }
  }

  /**
   * Sends one binary frame; returns false when the caller should wait for `drain`.
   * Frames sent before `connect` are held and sent once the channel opens (the remote
   * can open the channel and speak before our own `connect` fires). A frame that would
   * pass a queue cap closes the link with `ERR_LINK_QUEUE_FULL` instead.
   */
  send(frame: Uint8Array): boolean {
    if (this.#destroyed) return false;
    const channel = this.#channel;
    if (!this.#connected || !channel) {
      if (this.#pending.length >= PENDING_MAX_FRAMES || this.#pendingBytes + frame.byteLength > PENDING_MAX_BYTES) {
        this.close(ErrorCode.LINK_QUEUE_FULL);
        return false;
      }
      this.#pending.push(frame);
      this.#pendingBytes += frame.byteLength;
      if (this.#pendingBytes < PENDING_HIGH_WATER) return true;
      this.#waitingForDrain = true;
      return false;
    }
    if (this.#overCap(this.#buffered, frame)) {
      this.#buffered = channel.bufferedAmount;
      if (this.#overCap(this.#buffered, frame)) {
        this.close(ErrorCode.LINK_QUEUE_FULL);
        return false;
      }
    }
    try {
      this.#peer.send(frame);
    } catch {
      this.close('ERR_DATA_CHANNEL');
      return false;
    }
    this.#backlog.add(frame.byteLength);
    this.#buffered = channel.bufferedAmount;
    if (this.#buffered < SEND_HIGH_WATER) return true;
    this.#waitingForDrain = true;
    return false;
  }

  takeUnsent(): Uint8Array[] {
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    return pending;
  }

  /** Whether `frame` would pass a cap on what the open channel holds, were `buffered` its `bufferedAmount`. */
  #overCap(buffered: number, frame: Uint8Array): boolean {
    return this.#backlog.frames(buffered) >= SEND_MAX_FRAMES || buffered + frame.byteLength > SEND_MAX_BYTES;
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

  /** Closes the connection. Idempotent; `close` is emitted once, last, with `code` and `reason`. */
  close(code?: string, reason?: string): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#backlog = new ChannelBacklog();
    this.#buffered = 0;
    this.#peer.removeAllListeners();
    // simple-peer can emit a late 'error' while tearing down; keep it from going unhandled.
    this.#peer.on('error', () => {});
    this.#peer.destroy();
    this.emit('close', code, reason);
    this.removeAllListeners();
  }

  destroy(): void {
    this.close();
  }
}

/** The default {@link CreateLink}: a WebRTC PeerLink. */
export const createPeerLink: CreateLink = (remoteId, initiator, options) =>
  new PeerLink(remoteId, { ...options, initiator });
