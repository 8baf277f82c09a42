import type { RingContext } from '../context.js';
import type { RingHandler, RingMessageOf } from './context.js';

/** Stabilize's question (with notify merged in): our predecessor and successor list. */
export const onGetState: RingHandler<RingMessageOf<'get-state'>> = (node, from, msg) => {
  // A leaf asks to see our successors, not to be our predecessor.
  if (node.joined && !node.isLeaf(from)) notified(node, from);
  node.send(from, {
    type: 'state',
    rid: msg.rid,
    predecessor: node.predecessor,
    successors: node.successors.toArray(),
  });
};

/** A node that thinks it is our predecessor. */
function notified(node: RingContext, from: bigint): void {
  const pred = node.predecessor;
  if (pred === null || node.space.between(from, pred, node.id)) {
    node.setPredecessor(from);
  } else if (from !== pred) {
    // Rectify: a notifier outside (pred, id) replaces pred only if pred is gone.
    node.maintenance.checkPredecessor(from);
  }
  if (node.successors.length === 0) {
    // A ring of one learns its first successor from the first node that contacts it.
    node.setSuccessors([from]);
  }
}
