/**
 * The signed-signal envelope (protocol/signal-envelope.ts): the exact bytes an origin signs,
 * verification against every tampered field, and envelopes that carry several signals.
 */
import {
  fromHex,
  identityFromSeed,
  MAX_SIGNAL_BODY_CHARS,
  MAX_SIGNALS_PER_ENVELOPE,
  SIGNAL_LABEL,
  type SignalEnvelope,
  signalSigningBytes,
  signSignal,
  takeSignalBatch,
  toHex,
  verifySignalEnvelope,
} from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';

const alice = identityFromSeed(new Uint8Array(32).fill(1));
const bob = identityFromSeed(new Uint8Array(32).fill(2));
const SID = '0123456789abcdef';
const OFFER = { type: 'offer', sdp: 'v=0\r\n' };

describe('the signing bytes', () => {
  it('are label ‖ 0x00 ‖ origin (20) ‖ target (20) ‖ len(sid) ‖ sid ‖ body', () => {
    const body = '{"type":"offer"}';
    const bytes = signalSigningBytes(alice.peerId, bob.peerId, SID, body);
    const label = new TextEncoder().encode(SIGNAL_LABEL);
    expect(SIGNAL_LABEL).toBe('ringswarm/signal/v1');
    expect(bytes.subarray(0, label.length)).toEqual(label);
    let at = label.length;
    expect(bytes[at++]).toBe(0);
    expect(toHex(bytes.subarray(at, at + 20))).toBe(alice.peerId);
    at += 20;
    expect(toHex(bytes.subarray(at, at + 20))).toBe(bob.peerId);
    at += 20;
    expect(bytes[at++]).toBe(16);
    expect(new TextDecoder().decode(bytes.subarray(at, at + 16))).toBe(SID);
    at += 16;
    expect(new TextDecoder().decode(bytes.subarray(at))).toBe(body);
  });

  it('refuse malformed IDs and session ids', () => {
    expect(() => signalSigningBytes('x', bob.peerId, SID, '{}')).toThrow(RangeError);
    expect(() => signalSigningBytes(alice.peerId, bob.peerId.toUpperCase(), SID, '{}')).toThrow(RangeError);
    expect(() => signalSigningBytes(alice.peerId, bob.peerId, 'short', '{}')).toThrow(RangeError);
  });
});

describe('verifySignalEnvelope', () => {
  it('accepts an honest envelope and hands back the signed body, parsed', async () => {
    const envelope = await signSignal(alice, bob.peerId, SID, OFFER);
    expect(envelope.key).toBe(toHex(alice.publicKey));
    expect(fromHex(envelope.sig)).toHaveLength(64);
    expect(verifySignalEnvelope(envelope, alice.peerId, bob.peerId)).toEqual({ sid: SID, signals: [OFFER] });
  });

  it('refuses every tampered field, and never throws', async () => {
    const g = await signSignal(alice, bob.peerId, SID, OFFER);
    const flip = (hex: string) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const mallory = await signSignal(bob, bob.peerId, SID, OFFER);
    const cases: [string, unknown, string, string][] = [
      ['origin', g, bob.peerId, bob.peerId],
      ['target', g, alice.peerId, alice.peerId],
      ['sid', { ...g, sid: 'fedcba9876543210' }, alice.peerId, bob.peerId],
      ['body', { ...g, body: g.body.replace('v=0', 'v=1') }, alice.peerId, bob.peerId],
      ['key', { ...g, key: mallory.key, sig: mallory.sig }, alice.peerId, bob.peerId],
      ['signature', { ...g, sig: flip(g.sig) }, alice.peerId, bob.peerId],
      ['no signature', { sid: SID, body: g.body, key: g.key }, alice.peerId, bob.peerId],
      ['an extra field', { ...g, from: alice.peerId }, alice.peerId, bob.peerId],
      ['upper-case hex', { ...g, sig: g.sig.toUpperCase() }, alice.peerId, bob.peerId],
      ['not an object', 'offer', alice.peerId, bob.peerId],
      ['a bad origin ID', g, 'nope', bob.peerId],
    ];
    for (const [what, envelope, origin, target] of cases) {
      expect(verifySignalEnvelope(envelope, origin, target), what).toBeNull();
    }
  });

  const signBody = async (body: string): Promise<SignalEnvelope> => ({
    sid: SID,
    body,
    key: toHex(alice.publicKey),
    sig: toHex(await alice.sign(signalSigningBytes(alice.peerId, bob.peerId, SID, body))),
  });

  it('refuses a validly signed body that is neither a JSON object nor a list of 2 to 16 of them', async () => {
    const candidate = '{"candidate":{"candidate":"c"}}';
    const bodies = [
      '[1,2]',
      '"offer"',
      'null',
      '{oops',
      '[]',
      `[${candidate}]`,
      `[${candidate},[${candidate}]]`,
      `[${candidate},null]`,
      `[${Array(MAX_SIGNALS_PER_ENVELOPE + 1)
        .fill(candidate)
        .join()}]`,
    ];
    for (const body of bodies) {
      expect(verifySignalEnvelope(await signBody(body), alice.peerId, bob.peerId), body).toBeNull();
    }
  });

  it('carries several signals of one session in order, under one signature', async () => {
    const candidates = [1, 2, 3].map((n) => ({ candidate: { candidate: `c${n}`, sdpMid: '0' } }));
    const envelope = await signSignal(alice, bob.peerId, SID, [OFFER, ...candidates]);
    expect(JSON.parse(envelope.body)).toEqual([OFFER, ...candidates]);
    expect(verifySignalEnvelope(envelope, alice.peerId, bob.peerId)).toEqual({
      sid: SID,
      signals: [OFFER, ...candidates],
    });
    // One signal is sent as itself, so a list of one and the signal sign the same body.
    expect((await signSignal(alice, bob.peerId, SID, [OFFER])).body).toBe(JSON.stringify(OFFER));
    const most = Array(MAX_SIGNALS_PER_ENVELOPE).fill(candidates[0]);
    expect(verifySignalEnvelope(await signSignal(alice, bob.peerId, SID, most), alice.peerId, bob.peerId)).toEqual({
      sid: SID,
      signals: most,
    });
  });
});

describe('takeSignalBatch', () => {
  const candidate = (n: number) => ({ candidate: { candidate: `candidate:${n}` } });

  it('takes at most one envelope of signals from the front, in order', () => {
    const pending = Array.from({ length: 20 }, (_, n) => candidate(n));
    expect(takeSignalBatch(pending)).toEqual(Array.from({ length: MAX_SIGNALS_PER_ENVELOPE }, (_, n) => candidate(n)));
    expect(takeSignalBatch(pending)).toEqual([16, 17, 18, 19].map(candidate));
    expect(pending).toEqual([]);
  });

  it('keeps the body within its limit, and takes a long signal alone', () => {
    const big = { type: 'offer', sdp: 'x'.repeat(MAX_SIGNAL_BODY_CHARS / 2) };
    const pending = [big, big, candidate(1)];
    expect(takeSignalBatch(pending)).toEqual([big]);
    const batch = takeSignalBatch(pending);
    expect(batch).toEqual([big, candidate(1)]);
    expect(JSON.stringify(batch).length).toBeLessThanOrEqual(MAX_SIGNAL_BODY_CHARS);
    const huge = { type: 'offer', sdp: 'x'.repeat(MAX_SIGNAL_BODY_CHARS) };
    expect(takeSignalBatch([huge, candidate(2)])).toEqual([huge]);
  });
});
