import type { RingContext } from '../context.js';
import type { RingMessage, RingMessageType } from '../messages.js';
import { onAttach } from './attach.js';
import type { RingHandler, RingMessageOf } from './context.js';
import { onDhtMessage } from './dht.js';
import { onFind } from './find.js';
import { onGetState } from './get-state.js';
import { onJoin } from './join.js';
import { onLeave } from './leave.js';
import { onPing } from './ping.js';
import { onReply } from './reply.js';
import { onRoute, onRouted } from './route.js';
import { onSuccessors } from './successors.js';

/** One handler per inbound message type, chosen from this table. */
export const RING_HANDLERS: { [T in RingMessageType]: RingHandler<RingMessageOf<T>> } = {
  ping: onPing,
  find: onFind,
  'get-state': onGetState,
  join: onJoin,
  attach: onAttach,
  route: onRoute,
  routed: onRouted,
  successors: onSuccessors,
  leave: onLeave,
  pong: onReply,
  found: onReply,
  state: onReply,
  'join-ack': onReply,
  'attach-ack': onReply,
  'dht-put-reply': onReply,
  'dht-get-reply': onReply,
  'dht-put': onDhtMessage,
  'dht-get': onDhtMessage,
  'dht-store': onDhtMessage,
};

/** Runs the handler for `msg`'s type. */
export function dispatch(node: RingContext, from: bigint, msg: RingMessage): void {
  // The table pairs each type with its own handler; TypeScript cannot follow that through an index.
  const handler = RING_HANDLERS[msg.type] as RingHandler<RingMessage>;
  handler(node, from, msg);
}
