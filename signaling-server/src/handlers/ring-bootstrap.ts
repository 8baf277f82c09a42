import { describeIssues, ErrorCode, MAX_BOOTSTRAP_PEERS, RingBootstrapRequestSchema } from '@ringswarm/shared/protocol';
import { errorAck, type Handler, type HandlerContext } from './context.js';

/**
 * Members on each side of a joiner's ring position that its bootstrap introduces it to
 * (those connected to this instance: in a cluster, one on another instance is not among them).
 */
export const RING_NEIGHBOURS_INTRODUCED = 8;

/** Members a leaf's bootstrap names first: the ones just before its ID, one of which takes it. */
export const LEAF_GATEWAYS_NAMED = 2;

/**
 * A leaf's bootstrap members: those just before its ID on this instance (its gateway, if it
 * is connected here: the leaf attaches without a connection to anyone else), then random ones.
 */
async function leafBootstrap(ctx: HandlerContext, peerId: string, k: number): Promise<string[] | null> {
  const near = ctx.ring.preceding(peerId, Math.min(k, LEAF_GATEWAYS_NAMED));
  const rest = await ctx.registry.sampleRing(peerId, k, ctx.random);
  // No ring yet: this peer forms one, so it is its first member (null: join it as one).
  if (near.length === 0 && rest.length === 0) return null;
  return [...new Set([...near, ...rest])].slice(0, k);
}

/**
 * `ring:bootstrap`: names up to k live ring members for the caller to send its JOIN to,
 * and counts the caller as a ring member from now on (until it disconnects), unless it says
 * it will be a leaf (`member: false`) and there is a ring to attach to. The caller and
 * the members named, and its ring neighbours, may signal each other through the tracker
 * (./signal.ts); membership alone lets no one signal anyone.
 */
export const ringBootstrap: Handler = async (ctx, peerId, payload) => {
  const parsed = RingBootstrapRequestSchema.safeParse(payload);
  if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
  // The registry's ring spans every instance of a cluster; ctx.ring counts this instance's.
  const k = Math.min(parsed.data.k, MAX_BOOTSTRAP_PEERS);
  // A leaf is introduced the same way but never counted as a member: no one joins through it.
  const asLeaf = parsed.data.member === false ? await leafBootstrap(ctx, peerId, k) : null;
  const member = asLeaf === null;
  // Sampled and joined in one step: two joiners at once must not both hear of no member
  // (and both form a ring); a would-be leaf that hears of none is such a joiner too.
  const peers = asLeaf ?? (await ctx.registry.joinRing(peerId, k, ctx.random));
  // Introduced too: the members it will link to as successors and predecessors, whom the ring
  // finds by lookup and the joiner signals through the tracker until it has joined.
  const neighbours = ctx.ring.nearest(peerId, RING_NEIGHBOURS_INTRODUCED);
  ctx.introductions.introduce(peerId, [...peers, ...neighbours], ctx.now());
  if (member) ctx.ring.add(peerId);
  return { ok: true, peers };
};
