import { AnnounceRequestSchema, describeIssues, ErrorCode } from '@ringswarm/shared/protocol';
import { errorAck, type Handler } from './context.js';

export const BLOCKED_MESSAGE = 'the operator of this server has blocked this share';

/**
 * `announce`: joins, updates or leaves a swarm; answers with a random sample of its peers,
 * whom the caller may then signal (and be signaled by) through the tracker (./signal.ts). A
 * share on the deny list is refused with ERR_BLOCKED, and a peer already in its swarm leaves it.
 */
export const announce: Handler = async (ctx, peerId, payload) => {
  const parsed = AnnounceRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  const req = parsed.data;
  const interval = ctx.config.announceIntervalS;
  if (ctx.isBlocked(req.discoveryKey)) {
    await ctx.registry.remove(req.discoveryKey, peerId);
    if (req.event === 'stopped') return { ok: true, peers: [], complete: 0, incomplete: 0, interval };
    ctx.operator.blockedAnnounces++;
    return errorAck(ErrorCode.BLOCKED, BLOCKED_MESSAGE);
  }
  if (req.event === 'stopped') {
    await ctx.registry.remove(req.discoveryKey, peerId);
    const { complete, incomplete } = await ctx.registry.counts(req.discoveryKey);
    return { ok: true, peers: [], complete, incomplete, interval };
  }
  const outcome = await ctx.registry.announce(
    req.discoveryKey,
    peerId,
    { left: req.left },
    req.event === 'completed',
    ctx.now(),
    Math.min(req.numwant, ctx.config.maxNumwant),
    ctx.random,
    ctx.config.maxSwarmsPerPeer,
  );
  if (!outcome) {
    return errorAck(ErrorCode.TOO_MANY_SWARMS, `a connection may be in at most ${ctx.config.maxSwarmsPerPeer} swarms`);
  }
  const { complete, incomplete } = outcome.counts;
  ctx.introductions.introduce(peerId, outcome.peers, ctx.now());
  return { ok: true, peers: outcome.peers, complete, incomplete, interval };
};
