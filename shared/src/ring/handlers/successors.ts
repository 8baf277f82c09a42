import type { RingHandler, RingMessageOf } from './context.js';

/**
 * Our successor's list changed, or its predecessor did (a newcomer may sit between us): ours is
 * it followed by its list, and its neighbourhood changed, so ours may have too.
 */
export const onSuccessors: RingHandler<RingMessageOf<'successors'>> = (node, from, msg) => {
  if (node.leaf) {
    // Told as a predecessor would be (a JOIN of ours reached it, and then we attached
    // instead): we are none. Our gateway is the member before us.
    node.send(from, { type: 'leave', predecessor: node.gateway, successors: [] });
    return;
  }
  if (!node.joined || from !== node.successors.first) return;
  node.setSuccessors([from, ...msg.successors]);
  node.maintenance.changed();
};
