import type { RingHandler, RingMessageOf } from './context.js';

/** A node joining in front of us: our predecessor and list, and it becomes our predecessor. */
export const onJoin: RingHandler<RingMessageOf<'join'>> = (node, from, msg) => {
  if (!node.joined || node.leaf) return;
  const pred = node.predecessor;
  node.send(from, { type: 'join-ack', rid: msg.rid, predecessor: pred, successors: node.successors.toArray() });
  // The joiner just spoke to us; it sits between our predecessor and us, so it is ours now.
  if (pred === null || node.space.between(from, pred, node.id)) node.setPredecessor(from);
  if (node.successors.length === 0) node.setSuccessors([from]);
};
