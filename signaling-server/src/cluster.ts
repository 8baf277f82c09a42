/**
 * Cluster mode (`REDIS_URL`): three Redis connections — registry commands, adapter publish,
 * adapter subscribe — the socket.io Redis adapter, and the Redis-backed registry. While Redis
 * is unreachable the connections retry with capped, jittered exponential backoff, commands
 * fail at once (no offline queue: a stale announce is worse than a retried one), existing
 * sockets stay, and {@link Cluster.healthy} is false so /health can say so.
 */
import { backoffDelayMs } from '@ringswarm/shared/protocol';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { RedisIntroductions } from './redis-introductions.js';
import { type RedisClient, RedisSwarmRegistry } from './redis-registry.js';

/** First reconnect delay after Redis goes away. */
export const REDIS_RETRY_BASE_MS = 100;
/** Longest reconnect delay. */
export const REDIS_RETRY_MAX_MS = 5_000;
/** How long one connection attempt may take. */
export const REDIS_CONNECT_TIMEOUT_MS = 5_000;

export interface ClusterOptions {
  url: string;
  instanceId: string;
  peerTtlMs: number;
  instanceTtlMs: number;
  logger: Logger;
  random: () => number;
}

export interface Cluster {
  registry: RedisSwarmRegistry;
  /** Who was introduced to whom, shared by the cluster (./redis-introductions.ts). */
  introductions: RedisIntroductions;
  adapter: ReturnType<typeof createAdapter>;
  /** True while every Redis connection is up. */
  healthy(): boolean;
  /** Closes the Redis connections. Idempotent. */
  close(): Promise<void>;
}

/** Adapter calls whose promises the adapter drops: they must not reject unobserved. */
const ADAPTER_CALLS = ['publish', 'subscribe', 'unsubscribe', 'pSubscribe', 'pUnsubscribe'] as const;

/**
 * The Redis adapter fires `publish` and (un)subscribe calls without awaiting them. While
 * Redis is down (no offline queue) or at shutdown they reject, and an unobserved rejection
 * would end the process. Observe them here, on the client handed to the adapter.
 */
function observeAdapterCalls(client: RedisClient, logger: Logger): void {
  const target = client as unknown as Record<string, unknown>;
  for (const name of ADAPTER_CALLS) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = (...args: unknown[]) => {
      const result: unknown = original.apply(client, args);
      if (result instanceof Promise) {
        result.catch((err: unknown) => logger.debug({ call: name, err: String(err) }, 'redis adapter call failed'));
      }
      return result;
    };
  }
}

/** Connects to Redis (waits until it answers) and builds the adapter and the registry. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { logger } = options;
  const make = (role: string, offlineQueue: boolean): RedisClient => {
    const client: RedisClient = createClient({
      url: options.url,
      disableOfflineQueue: !offlineQueue,
      socket: {
        connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries: number) =>
          backoffDelayMs(retries, options.random, REDIS_RETRY_BASE_MS, REDIS_RETRY_MAX_MS),
      },
    });
    let down = false;
    // Without an 'error' listener node-redis would crash the process on a lost connection.
    client.on('error', (err: Error) => {
      if (!down) logger.warn({ role, err: err.message }, 'redis connection lost, retrying');
      down = true;
    });
    client.on('ready', () => {
      if (down) logger.info({ role }, 'redis connection back');
      down = false;
    });
    return client;
  };
  const data = make('registry', false);
  const pub = make('publish', false);
  // The subscriber keeps its queue: node-redis subscribes again through it after a reconnect.
  const sub = make('subscribe', true);
  observeAdapterCalls(pub, logger);
  observeAdapterCalls(sub, logger);
  const clients = [data, pub, sub];
  await Promise.all(clients.map((c) => c.connect()));
  const registry = new RedisSwarmRegistry(data, {
    instanceId: options.instanceId,
    peerTtlMs: options.peerTtlMs,
    instanceTtlMs: options.instanceTtlMs,
  });
  const introductions = new RedisIntroductions(data, {
    onError: (err) => logger.debug({ err: String(err) }, 'could not record an introduction'),
  });
  const adapter = createAdapter(pub, sub, { key: 'ringswarm:socket.io' });
  let closing: Promise<void> | undefined;
  return {
    registry,
    introductions,
    adapter,
    healthy: () => clients.every((c) => c.isReady),
    close() {
      closing ??= (async () => {
        await registry.destroy();
        await Promise.all(
          clients.map((c) => (c.isReady ? c.close().catch(() => c.destroy()) : c.isOpen && c.destroy())),
        );
      })();
      return closing;
    },
  };
}
