import type { RingContext } from '../context.js';
import type { RingMessage, RingMessageType } from '../messages.js';

/** A message of the given type(s). */
export type RingMessageOf<T extends RingMessageType> = Extract<RingMessage, { type: T }>;

/** Handles inbound messages of one type (or a family); `from` has just been heard from. */
export type RingHandler<M extends RingMessage> = (node: RingContext, from: bigint, msg: M) => void;
