/**
 * The ringswarm server: one HTTP port carrying the web client, the socket.io tracker and
 * the operations endpoints (/health, /api/stats).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Logger, pino } from 'pino';
import { Server } from 'socket.io';
import { DEFAULTS, type ServerConfig } from './config.js';
import { createMetrics } from './metrics.js';
import { RingMembers } from './ring-members.js';
import { staticFiles } from './static-files.js';
import { SwarmRegistry } from './swarm-registry.js';
import { attachTracker, type Tracker, type TrackerServer } from './tracker.js';
import { TrafficCounter } from './traffic.js';

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

type Handler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface StartOptions {
  logger?: Logger;
  /** Serves what the server's own routes do not (default: the built web client). */
  fallback?: Handler;
  /** Randomness for peer sampling; default Math.random. */
  random?: () => number;
  /** Clock in milliseconds for TTLs and rate limits; default Date.now. */
  now?: () => number;
}

export interface RunningServer {
  /** Base URL, e.g. http://localhost:8080 */
  readonly url: string;
  readonly port: number;
  readonly io: TrackerServer;
  readonly registry: SwarmRegistry;
  readonly ring: RingMembers;
  readonly traffic: TrafficCounter;
  /** Stops accepting, closes every socket, resolves when the port is free. Idempotent. */
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(text);
}

export async function startServer(
  overrides: Partial<ServerConfig> = {},
  options: StartOptions = {},
): Promise<RunningServer> {
  const config: ServerConfig = { ...DEFAULTS, ...overrides };
  const logger = options.logger ?? pino({ level: config.logLevel });
  const registry = new SwarmRegistry();
  const ring = new RingMembers();
  const traffic = new TrafficCounter();
  const serveStatic = staticFiles(config.staticDir);
  const fallback: Handler =
    options.fallback ??
    ((req, res) => {
      serveStatic(req, res).catch((err: unknown) => {
        logger.error({ err }, 'static file error');
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });

  let tracker: Tracker | undefined;
  const connections = () => tracker?.connections ?? 0;
  const metrics = createMetrics({ registry, ring, traffic, connections });

  const http = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return json(res, 200, { ok: true, version: VERSION });
    if (path === '/api/stats') {
      return json(res, 200, {
        version: VERSION,
        connections: connections(),
        peers: registry.peerCount(),
        seeders: registry.seederCount(),
        leechers: registry.leecherCount(),
        ringMembers: ring.size,
        swarms: Object.fromEntries(registry.swarms()),
        traffic: traffic.toJSON(),
      });
    }
    if (path === '/metrics') {
      metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err: unknown) => {
          logger.error({ err }, 'metrics failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    fallback(req, res, () => {
      res.writeHead(404).end();
    });
  });

  const io: TrackerServer = new Server(http, {
    maxHttpBufferSize: config.maxMessageBytes,
    serveClient: false,
    cors: { origin: true },
  });
  tracker = attachTracker({
    io,
    registry,
    ring,
    traffic,
    logger,
    config,
    random: options.random ?? Math.random,
    now: options.now ?? Date.now,
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const shownHost = !config.host || config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    io,
    registry,
    ring,
    traffic,
    close() {
      closing ??= new Promise<void>((resolve) => {
        tracker?.destroy();
        io.disconnectSockets(true);
        // io.close() also closes the HTTP server.
        io.close(() => resolve());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}
