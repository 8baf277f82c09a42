import type { RingHandler, RingMessageOf } from './context.js';

/** A neighbour leaves gracefully and names its predecessor and successors to fill its place. */
export const onLeave: RingHandler<RingMessageOf<'leave'>> = (node, from, msg) => {
  if (!node.joined || node.leaf) return;
  node.liveness.markDead(from);
  node.fingers.remove(from);
  if (from === node.predecessor) {
    node.setPredecessor(null);
    if (msg.predecessor !== null && msg.predecessor !== node.id) node.maintenance.considerPredecessor(msg.predecessor);
  }
  if (node.successors.has(from)) {
    const rest = node.successors.toArray().filter((n) => n !== from);
    node.successors.replace([...rest, ...msg.successors].filter((n) => !node.liveness.isDead(n)));
    node.successorsChanged();
    // The new first successor is only a backup until it answers.
    node.maintenance.stabilize();
  }
};
