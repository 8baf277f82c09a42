/**
 * Signed signals. Every piece of WebRTC signaling a peer originates (offer, answer, ICE
 * candidate, renegotiation) travels, through the tracker or routed through the ring, in an
 * envelope its origin signed:
 *
 *     { sid, body, key, sig }
 *
 * - `sid`: the session id (16 hex digits) the signal belongs to;
 * - `body`: simple-peer's signaling data as the exact UTF-8 JSON string the origin signed:
 *   one signal (a JSON object), or several of one session in order (a JSON array of 2 to
 *   {@link MAX_SIGNALS_PER_ENVELOPE} objects: the ICE candidates that came while the last
 *   signature was being made go out under one signature). The receiver parses this string
 *   after checking it, never re-serializes an object (key order is not guaranteed);
 * - `key`: the origin's raw Ed25519 public key, 64 hex digits; its SHA-256 prefix must be the
 *   origin's peer ID ({@link publicKeyMatches});
 * - `sig`: 128 hex digits, Ed25519 over {@link signalSigningBytes}:
 *
 *     "ringswarm/signal/v1" ‖ 0x00 ‖ origin (20 bytes) ‖ target (20 bytes)
 *       ‖ len(sid) (1 byte) ‖ sid (ASCII) ‖ body (UTF-8, to the end)
 *
 * Since an offer or answer carries the DTLS certificate fingerprint, the signature binds the
 * connection to the origin's peer ID: a lying tracker or ring hop can neither forge a signal
 * from X nor redirect one meant for someone else.
 *
 * A receiver checks before it acts: {@link verifySignalEnvelope} at once (noble), or
 * {@link verifySignalEnvelopeAsync} through the platform's native Ed25519, and then the
 * receiver keeps arrival order itself.
 */

import { z } from 'zod';
import type { PeerIdentity } from '../identity/identity.js';
import { concatBytes, fromHex, toHex } from '../util/bytes.js';
import { publicKeyMatches, verifySignature, verifySignatureAsync } from './identity.js';
import { PeerIdSchema } from './ids.js';

/** Domain label of a signal signature. */
export const SIGNAL_LABEL = 'ringswarm/signal/v1';
/** Bytes of a session id; on the wire it is twice as many hex digits. */
export const SID_BYTES = 8;
/** The longest signaling body accepted, in UTF-16 code units (a ROUTE frame is capped at 64 KiB anyway). */
export const MAX_SIGNAL_BODY_CHARS = 48 * 1024;
/** The most signals one envelope carries. */
export const MAX_SIGNALS_PER_ENVELOPE = 16;

export const SidSchema = z.string().regex(new RegExp(`^[0-9a-f]{${2 * SID_BYTES}}$`), 'sid must be 16 hex digits');

export const SignalEnvelopeSchema = z.strictObject({
  sid: SidSchema,
  body: z.string().max(MAX_SIGNAL_BODY_CHARS),
  key: z.string().regex(/^[0-9a-f]{64}$/, 'key must be 64 lowercase hex digits'),
  sig: z.string().regex(/^[0-9a-f]{128}$/, 'sig must be 128 lowercase hex digits'),
});
export type SignalEnvelope = z.infer<typeof SignalEnvelopeSchema>;

const encoder = new TextEncoder();
const LABEL_BYTES = concatBytes([encoder.encode(SIGNAL_LABEL), Uint8Array.of(0)]);

/** The bytes an origin signs: see the module comment. Throws RangeError on malformed IDs or sid. */
export function signalSigningBytes(origin: string, target: string, sid: string, body: string): Uint8Array {
  if (!PeerIdSchema.safeParse(origin).success || !PeerIdSchema.safeParse(target).success) {
    throw new RangeError('origin and target must be peer IDs');
  }
  if (!SidSchema.safeParse(sid).success) throw new RangeError('sid must be 16 hex digits');
  const sidBytes = encoder.encode(sid);
  return concatBytes([
    LABEL_BYTES,
    fromHex(origin),
    fromHex(target),
    Uint8Array.of(sidBytes.length),
    sidBytes,
    encoder.encode(body),
  ]);
}

/** A signal as simple-peer gives it: offer, answer, ICE candidate, renegotiation. */
export type SignalData = Record<string, unknown>;

/**
 * Signs `data` (one of simple-peer's signaling objects, or several of one session in order:
 * at most {@link MAX_SIGNALS_PER_ENVELOPE}) for `target` in session `sid`.
 */
export async function signSignal(
  identity: PeerIdentity,
  target: string,
  sid: string,
  data: SignalData | readonly SignalData[],
): Promise<SignalEnvelope> {
  const body = JSON.stringify(isSignalList(data) && data.length === 1 ? data[0] : data);
  const sig = await identity.sign(signalSigningBytes(identity.peerId, target, sid, body));
  return { sid, body, key: toHex(identity.publicKey), sig: toHex(sig) };
}

function isSignalList(data: SignalData | readonly SignalData[]): data is readonly SignalData[] {
  return Array.isArray(data);
}

/**
 * Takes from the front of `pending` the signals that go out under the next signature: as
 * many as one envelope carries, by count and by body size, and always at least one (a
 * signal too long on its own is sent alone, and refused by the receiver).
 */
export function takeSignalBatch(pending: SignalData[]): SignalData[] {
  let n = 0;
  let chars = 2;
  while (n < pending.length && n < MAX_SIGNALS_PER_ENVELOPE) {
    chars += JSON.stringify(pending[n]).length + 1;
    if (n > 0 && chars > MAX_SIGNAL_BODY_CHARS) break;
    n++;
  }
  return pending.splice(0, Math.max(1, n));
}

/** A verified envelope: its session id and its signals in order, parsed from the signed body. */
export interface VerifiedSignal {
  sid: string;
  signals: SignalData[];
}

/** An envelope whose shape and key check out, with the signature still to check. */
interface UncheckedSignal {
  sid: string;
  body: string;
  publicKey: Uint8Array;
  signature: Uint8Array;
  signed: Uint8Array;
}

/** Everything but the signature: the shape, and that `key` is `origin`'s key. */
function parseEnvelope(envelope: unknown, origin: string, target: string): UncheckedSignal | null {
  const parsed = SignalEnvelopeSchema.safeParse(envelope);
  if (!parsed.success) return null;
  const { sid, body, key, sig } = parsed.data;
  if (!PeerIdSchema.safeParse(origin).success || !PeerIdSchema.safeParse(target).success) return null;
  const publicKey = fromHex(key);
  if (!publicKeyMatches(origin, publicKey)) return null;
  return { sid, body, publicKey, signature: fromHex(sig), signed: signalSigningBytes(origin, target, sid, body) };
}

const SignalDataSchema = z.custom<SignalData>(
  (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
  'a signal is a JSON object',
);
const SignalBodySchema = z.union([
  SignalDataSchema.transform((one) => [one]),
  z.array(SignalDataSchema).min(2).max(MAX_SIGNALS_PER_ENVELOPE),
]);

/** The signals of an envelope whose signature verified: the body is one JSON object or a list of them. */
function signalData({ sid, body }: UncheckedSignal): VerifiedSignal | null {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return null;
  }
  const signals = SignalBodySchema.safeParse(data);
  return signals.success ? { sid, signals: signals.data } : null;
}

/**
 * Checks an envelope claimed to come from `origin` and meant for `target` (a receiver passes
 * its own ID; a hop that forwards it passes the ROUTE frame's target): the shape, that `key`
 * is `origin`'s key, the signature, and that the body is a JSON object or a list of them. Null when any check
 * fails; never throws.
 */
export function verifySignalEnvelope(envelope: unknown, origin: string, target: string): VerifiedSignal | null {
  const signal = parseEnvelope(envelope, origin, target);
  if (!signal || !verifySignature(signal.publicKey, signal.signature, signal.signed)) return null;
  return signalData(signal);
}

/** {@link verifySignalEnvelope} with the signature checked by the platform's native Ed25519 where it has one. Never rejects. */
export async function verifySignalEnvelopeAsync(
  envelope: unknown,
  origin: string,
  target: string,
): Promise<VerifiedSignal | null> {
  const signal = parseEnvelope(envelope, origin, target);
  if (!signal || !(await verifySignatureAsync(signal.publicKey, signal.signature, signal.signed))) return null;
  return signalData(signal);
}
