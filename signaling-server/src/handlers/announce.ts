import { AnnounceRequestSchema, describeIssues, ErrorCode } from '@ringswarm/shared';
import { errorAck, type Handler } from './context.js';

/** `announce`: joins, updates or leaves a swarm; answers with a random sample of its peers. */
export const announce: Handler = (ctx, peerId, payload) => {
  const parsed = AnnounceRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  const req = parsed.data;
  const interval = ctx.config.announceIntervalS;
  if (req.event === 'stopped') {
    ctx.registry.remove(req.infoHash, peerId);
    const { complete, incomplete } = ctx.registry.counts(req.infoHash);
    return { ok: true, peers: [], complete, incomplete, interval };
  }
  const joined = ctx.registry.upsert(
    req.infoHash,
    peerId,
    { left: req.left },
    req.event === 'completed',
    ctx.now(),
    ctx.config.maxSwarmsPerPeer,
  );
  if (!joined) {
    return errorAck(ErrorCode.TOO_MANY_SWARMS, `a connection may be in at most ${ctx.config.maxSwarmsPerPeer} swarms`);
  }
  const peers = ctx.registry.sample(req.infoHash, peerId, Math.min(req.numwant, ctx.config.maxNumwant), ctx.random);
  const { complete, incomplete } = ctx.registry.counts(req.infoHash);
  return { ok: true, peers, complete, incomplete, interval };
};
