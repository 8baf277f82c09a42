import { describeIssues, ErrorCode, IceRequestSchema } from '@ringswarm/shared/protocol';
import { builtInStunUrl, iceAnswer } from '../ice.js';
import { errorAck, type Handler } from './context.js';

/** `ice` answers one socket this many times a second, in the long run (renewals come every few minutes). */
export const ICE_PER_SOCKET_PER_S = 1 / 60;
/** `ice` answers one socket may have in a row (the first, a renewal, a retry). */
export const ICE_SOCKET_BURST = 3;
/** `ice` answers for one IP address a second, in the long run (many peers may share a NAT). */
export const ICE_PER_ADDRESS_PER_S = 1;
/** `ice` answers one IP address may have in a row. */
export const ICE_ADDRESS_BURST = 30;

/**
 * `ice`: STUN and TURN servers for this peer, TURN credentials labelled with the socket's
 * bound peer ID and valid `turnTtlS` (see ../ice.ts). The only way to TURN credentials.
 */
export const ice: Handler = async (ctx, peerId, payload) => {
  const parsed = IceRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  const info = ctx.socketInfo(peerId);
  // The socket's own bucket first: a socket past its limit does not drain its address's.
  if (!ctx.iceLimit.perSocket.take(peerId)) return errorAck(ErrorCode.RATE_LIMITED, 'ICE servers asked too often');
  if (info && !ctx.iceLimit.perAddress.take(info.address)) {
    return errorAck(ErrorCode.RATE_LIMITED, 'ICE servers asked too often from this address');
  }
  const own = ctx.stunPort === undefined ? undefined : builtInStunUrl(info?.host, ctx.stunPort);
  return { ok: true, ...iceAnswer(ctx.config, peerId, ctx.now(), own) };
};
