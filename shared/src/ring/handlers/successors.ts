import type { RingHandler, RingMessageOf } from './context.js';

/** Our successor's list changed: ours is it followed by its list. */
export const onSuccessors: RingHandler<RingMessageOf<'successors'>> = (node, from, msg) => {
  if (!node.joined || from !== node.successors.first) return;
  node.setSuccessors([from, ...msg.successors]);
};
