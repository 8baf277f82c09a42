import { RING_ROUTE_MAX_HOPS, routeStep } from '../route.js';
import type { RingHandler, RingMessageOf } from './context.js';

/**
 * One hop of a routed lookup: the owner answers back along the path (for a `get`, with its
 * DHT values for the key: a hop on the way could drop or add some, as it could name another
 * owner; readers check name values, and a provider is only a peer to reach); any other node hands
 * the request to its next hop (ring/route.ts). While the ring settles (a newcomer that some
 * nodes know and others not yet), a request may come back to a node it passed: that node
 * answers it, or sends it back to its predecessor (the two steps that use what the hop before
 * did not know), and otherwise gives up on it, as on one that has used up its hops. Giving up
 * sends back an answer with no owners, as a node not in a ring does: the asker then looks up
 * iteratively at once instead of waiting for its time to run out.
 */
export const onRoute: RingHandler<RingMessageOf<'route'>> = (node, from, msg) => {
  const { path } = msg;
  if (path[path.length - 1] !== from || path.length > RING_ROUTE_MAX_HOPS) return;
  const here = [...path, node.id];
  const giveUp = () => node.send(from, { type: 'routed', rid: msg.rid, owners: [], path: here, predecessor: null });
  if (!node.joined || node.leaf) {
    giveUp();
    return;
  }
  const step = routeStep(
    {
      space: node.space,
      self: node.id,
      predecessor: node.predecessor,
      successor: node.successors.first ?? null,
      // A leaf's request starts here, from behind: it was not handed on as to the key's successor.
      from: node.isLeaf(from) ? null : from,
      linked: node.linked(),
      visited: path,
    },
    msg.key,
  );
  if (step.kind === 'answer') {
    const owners = [node.id, ...node.successors.toArray()];
    const answer = { type: 'routed' as const, rid: msg.rid, owners, path: here, predecessor: node.predecessor };
    node.send(from, msg.get ? { ...answer, values: node.dhtValues(msg.key) } : answer);
  } else if ((step.back || !path.includes(node.id)) && here.length <= RING_ROUTE_MAX_HOPS) {
    node.send(step.to, { ...msg, path: here });
  } else {
    giveUp();
  }
};

/**
 * An answer to a routed lookup on its way back: passed to the node before this one's first
 * place on the path (a loop the request made is skipped), or, at the asker, settled like any
 * answer. One from a node that is not after this one on the path is ignored, and so is one
 * whose previous hop has no connection here: the request came over one, so a path naming
 * another node is forged, and passing it on would open a connection wherever the forger
 * pointed. That connection may not be reported open here yet (a request can come in before
 * the opening is), so any connection not closed will do: the answer waits in it.
 */
export const onRouted: RingHandler<RingMessageOf<'routed'>> = (node, from, msg) => {
  const at = msg.path.indexOf(node.id);
  if (at < 0 || msg.path.lastIndexOf(from) <= at) return;
  if (at === 0) {
    node.rpc.settle(from, msg);
    return;
  }
  const back = msg.path[at - 1]!;
  if (node.hasLink(back)) node.send(back, msg);
};
