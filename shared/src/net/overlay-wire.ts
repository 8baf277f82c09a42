/**
 * Overlay frames on the PeerLink data channel, beside the swarm's 0x10-0x1f range:
 *
 * | type | name  | body                                                         |
 * |------|-------|--------------------------------------------------------------|
 * | 0x20 | RING  | UTF-8 JSON of a ring message in wire form (hex identifiers)  |
 * | 0x21 | ROUTE | UTF-8 JSON `{origin, target, hops, data}`: signaling routed  |
 * |      |       | (`data`: the origin's signed envelope, protocol/signal-envelope) |
 * | 0x22 | HELLO | empty: the sender is a ring member and routes signals        |
 *
 * A ROUTE frame carries WebRTC signaling data hop by hop through the ring towards
 * `target`; `hops` counts the links it crossed and is capped by {@link ROUTE_MAX_HOPS}.
 * Everything inbound is `unknown` until these decoders accept it.
 */
import { z } from 'zod';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { PeerIdSchema } from '../protocol/ids.js';
import { type SignalEnvelope, SignalEnvelopeSchema } from '../protocol/signal-envelope.js';

export const OverlayFrameType = {
  RING: 0x20,
  ROUTE: 0x21,
  HELLO: 0x22,
} as const;

/** The largest overlay frame accepted (a successor list, an SDP offer with candidates). */
export const MAX_OVERLAY_FRAME_BYTES = 64 * 1024;
/** Links a routed signal may cross; past this it is dropped (a loop, or a broken ring). */
export const ROUTE_MAX_HOPS = 24;

export interface RoutedSignal {
  /** The peer that produced the signaling data (where answers go back to). */
  origin: string;
  /** The peer it is for. */
  target: string;
  /** Links crossed so far. */
  hops: number;
  /** The signal, signed by `origin` for `target` (every hop verifies it). */
  data: SignalEnvelope;
}

const RoutedSignalSchema = z.strictObject({
  origin: PeerIdSchema,
  target: PeerIdSchema,
  hops: z.number().int().nonnegative().max(ROUTE_MAX_HOPS),
  data: SignalEnvelopeSchema,
});

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function encodeJson(type: number, body: unknown): Uint8Array {
  const json = encoder.encode(JSON.stringify(body));
  const frame = new Uint8Array(1 + json.byteLength);
  frame[0] = type;
  frame.set(json, 1);
  return frame;
}

function decodeJson(frame: Uint8Array): unknown {
  if (frame.byteLength > MAX_OVERLAY_FRAME_BYTES) {
    throw new RingswarmError(ErrorCode.BAD_FRAME, `overlay frame of ${frame.byteLength} bytes is too large`);
  }
  try {
    return JSON.parse(decoder.decode(frame.subarray(1)));
  } catch {
    throw new RingswarmError(ErrorCode.BAD_FRAME, 'overlay frame is not UTF-8 JSON');
  }
}

/** A RING frame from a ring message already in wire form ({@link encodeRingMessage}). */
export function encodeRingFrame(wire: unknown): Uint8Array {
  return encodeJson(OverlayFrameType.RING, wire);
}

/** The JSON body of a RING frame, still unchecked: {@link decodeRingMessage} validates it. */
export function decodeRingFrame(frame: Uint8Array): unknown {
  return decodeJson(frame);
}

export function encodeRouteFrame(signal: RoutedSignal): Uint8Array {
  return encodeJson(OverlayFrameType.ROUTE, signal);
}

/** Validates a ROUTE frame; throws `ERR_BAD_FRAME` on anything malformed. */
export function decodeRouteFrame(frame: Uint8Array): RoutedSignal {
  const parsed = RoutedSignalSchema.safeParse(decodeJson(frame));
  if (!parsed.success) throw new RingswarmError(ErrorCode.BAD_FRAME, 'malformed ROUTE frame');
  return parsed.data;
}

export const HELLO_FRAME = Uint8Array.of(OverlayFrameType.HELLO);

/** Greedy next hop among linked peers: shared with the ring's routed lookups (ring/route.ts). */
export { nextHop } from '../ring/route.js';
