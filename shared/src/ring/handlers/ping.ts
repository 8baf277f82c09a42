import type { RingHandler, RingMessageOf } from './context.js';

/** Answers a ping; the pong names our predecessor, so a lookup can confirm its owner. */
export const onPing: RingHandler<RingMessageOf<'ping'>> = (node, from, msg) => {
  node.send(from, { type: 'pong', rid: msg.rid, predecessor: node.predecessor });
};
