import type { RingHandler, RingMessageOf } from './context.js';

/**
 * A peer outside the ring asks to route through us (ring-node.ts, `attach`): taken when we
 * are a member, it lies between us and our successor, and we have room. Our successor list
 * goes back either way, so one that asked the wrong member finds the right one.
 */
export const onAttach: RingHandler<RingMessageOf<'attach'>> = (node, from, msg) => {
  const ok = node.joined && !node.leaf && node.acceptLeaf(from);
  node.send(from, { type: 'attach-ack', rid: msg.rid, ok, successors: node.leaf ? [] : node.successors.toArray() });
};
