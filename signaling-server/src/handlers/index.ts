import type { ClientToServerEvents } from '@ringswarm/shared/protocol';
import { announce } from './announce.js';
import type { Handler } from './context.js';
import { ice } from './ice.js';
import { ringBootstrap } from './ring-bootstrap.js';
import { scrape } from './scrape.js';
import { signal } from './signal.js';

/** One handler per client event, chosen from this table. */
export const HANDLERS: Record<keyof ClientToServerEvents, Handler> = {
  announce,
  scrape,
  signal,
  'ring:bootstrap': ringBootstrap,
  ice,
};

export type { Handler, HandlerContext } from './context.js';
export { errorAck } from './context.js';
