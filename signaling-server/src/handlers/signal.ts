import { describeIssues, ErrorCode, SignalRequestSchema } from '@ringswarm/shared/protocol';
import { jsonBytes } from '../traffic.js';
import { errorAck, type Handler } from './context.js';

/** Signals one peer may receive through the tracker each second, from all senders together. */
export const SIGNALS_PER_TARGET_PER_S = 50;
/** Signals one peer may receive in a burst (a few connection attempts with trickled candidates). */
export const SIGNAL_TARGET_BURST = 200;

/**
 * `signal`: relays WebRTC signaling only between two peers the tracker introduced to each
 * other (one was named to the other in an announce or `ring:bootstrap` answer, within
 * INTRODUCTION_WINDOW_MS), and at most SIGNALS_PER_TARGET_PER_S to one target. The relayed
 * message carries `from` as bound at connection time, never the sender's word.
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
  if (!(await ctx.introductions.introduced(peerId, to, ctx.now()))) {
    return errorAck(ErrorCode.NOT_ALLOWED, 'the tracker did not introduce these peers to each other');
  }
  if (!ctx.signalLimit.take(to)) return errorAck(ErrorCode.RATE_LIMITED, 'too many signals to this peer, slow down');
  ctx.deliver(to, 'signal', { from: peerId, data });
  ctx.traffic.addRelayed('signal', size);
  return { ok: true };
};
