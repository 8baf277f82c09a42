import { describeIssues, ErrorCode, MAX_BOOTSTRAP_PEERS, RingBootstrapRequestSchema } from '@ringswarm/shared';
import { errorAck, type Handler } from './context.js';

/**
 * `ring:bootstrap`: names up to k live ring members for the caller to send its JOIN to,
 * and counts the caller as a ring member from now on (until it disconnects).
 */
export const ringBootstrap: Handler = (ctx, peerId, payload) => {
  const parsed = RingBootstrapRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  const peers = ctx.ring.sample(peerId, Math.min(parsed.data.k, MAX_BOOTSTRAP_PEERS), ctx.random);
  ctx.ring.add(peerId);
  return { ok: true, peers };
};
