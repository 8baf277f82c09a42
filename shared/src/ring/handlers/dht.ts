import type { RingHandler, RingMessageOf } from './context.js';

/** DHT requests and notices are the store's: handed to it as they are. */
export const onDhtMessage: RingHandler<RingMessageOf<'dht-put' | 'dht-get' | 'dht-store'>> = (node, from, msg) => {
  node.deliverToDht(from, msg);
};
