import type { RingRpcReply } from '../rpc.js';
import type { RingHandler } from './context.js';

/** An answer to one of our requests (ring or DHT): settles it. */
export const onReply: RingHandler<RingRpcReply> = (node, from, msg) => {
  node.rpc.settle(from, msg);
};
