import { describeIssues, ErrorCode, SignalRequestSchema } from '@ringswarm/shared/protocol';
import { jsonBytes } from '../traffic.js';
import { errorAck, type Handler } from './context.js';

/**
 * `signal`: relays WebRTC signaling to a peer the sender could legitimately know: one it
 * shares a swarm with, or, when both are ring members, one it met through the ring.
 * The relayed message carries `from` as bound at connection time, never the sender's word.
 */
export const signal: Handler = async (ctx, peerId, payload) => {
  const parsed = SignalRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  const { to, data } = parsed.data;
  const size = jsonBytes(data);
  if (size < 0) return errorAck(ErrorCode.INVALID_PAYLOAD, 'signal data is not JSON');
  if (size > ctx.config.maxSignalBytes) {
    return errorAck(ErrorCode.PAYLOAD_TOO_LARGE, `signal of ${size} bytes exceeds ${ctx.config.maxSignalBytes}`);
  }
  if (to === peerId) return errorAck(ErrorCode.NOT_ALLOWED, 'a peer cannot signal itself');
  if (!(await ctx.isConnected(to))) return errorAck(ErrorCode.UNKNOWN_PEER, 'target peer is not connected');
  const known =
    (ctx.ring.has(peerId) && ctx.ring.has(to)) ||
    (await ctx.registry.shareSwarm(peerId, to)) ||
    (ctx.ring.has(peerId) && (await ctx.registry.bothInRing(peerId, to)));
  if (!known) return errorAck(ErrorCode.NOT_ALLOWED, 'target shares no swarm or ring with the sender');
  ctx.deliver(to, 'signal', { from: peerId, data });
  ctx.traffic.addRelayed('signal', size);
  return { ok: true };
};
