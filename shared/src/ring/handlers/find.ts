import { RING_FIND_CANDIDATES } from '../lookup.js';
import type { RingHandler, RingMessageOf } from './context.js';

/**
 * One step of someone's lookup: the key's possible owners when we know them (done), else
 * the closest preceding nodes we know, leaving out the ones the asker found dead.
 */
export const onFind: RingHandler<RingMessageOf<'find'>> = (node, from, msg) => {
  const key = msg.key;
  let done = false;
  let nodes: bigint[];
  if (!node.joined || node.leaf) {
    // Not part of a ring (yet, or a leaf): no answer to give, but no reason to be taken for dead.
    nodes = [];
  } else if (node.successors.length === 0 || (node.predecessor !== null && node.owns(key))) {
    done = true;
    nodes = [node.id, ...node.successors.toArray()];
  } else if (node.successors.confidentOwnersOf(key).length > 0) {
    done = true;
    nodes = node.successors.confidentOwnersOf(key);
  } else {
    const skip = msg.exclude === undefined ? undefined : new Set(msg.exclude);
    nodes = node.closestPreceding(key, RING_FIND_CANDIDATES, skip);
    if (nodes.length === 0) {
      done = true;
      nodes = node.successors.toArray();
    }
  }
  node.send(from, { type: 'found', rid: msg.rid, done, nodes });
};
