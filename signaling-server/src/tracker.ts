/**
 * The tracker's socket.io side: binds each socket to a peer ID, checks rate and event
 * names, and dispatches each event to its handler (./handlers). Every inbound payload is
 * validated there; bad input gets an error ack and the socket stays. Only abuse (a flood
 * past the rate limit, an oversize message) disconnects.
 */
import {
  type ClientToServerEvents,
  describeIssues,
  ErrorCode,
  HandshakeAuthSchema,
  type Inbound,
  PROTOCOL_VERSION,
  type ServerToClientEvents,
} from '@ringswarm/shared';
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { ServerConfig } from './config.js';
import { errorAck, HANDLERS, type HandlerContext } from './handlers/index.js';
import { TokenBucket } from './rate-limit.js';
import type { RingMembers } from './ring-members.js';
import type { SwarmRegistry } from './swarm-registry.js';
import { packetBytes, type TrafficCounter } from './traffic.js';

export type TrackerServer = Server<Inbound<ClientToServerEvents>, ServerToClientEvents, object, SocketData>;
type TrackerSocket = Socket<Inbound<ClientToServerEvents>, ServerToClientEvents, object, SocketData>;

export interface SocketData {
  peerId: string;
}

export interface TrackerDeps {
  io: TrackerServer;
  registry: SwarmRegistry;
  ring: RingMembers;
  traffic: TrafficCounter;
  logger: Logger;
  config: ServerConfig;
  random: () => number;
  now: () => number;
}

export interface Tracker {
  /** Connected peers. */
  readonly connections: number;
  /** Stops the expiry sweep. */
  destroy(): void;
}

/** How often silent swarm members are looked for, at most. */
export const MAX_SWEEP_INTERVAL_MS = 15_000;

class HandshakeError extends Error {
  readonly data: { code: ErrorCode };
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.data = { code };
  }
}

const isEvent = (name: unknown): name is keyof ClientToServerEvents =>
  typeof name === 'string' && Object.hasOwn(HANDLERS, name);

export function attachTracker(deps: TrackerDeps): Tracker {
  const { io, registry, ring, traffic, logger, config } = deps;
  /** peer ID -> socket, for relaying and duplicate detection. */
  const sockets = new Map<string, TrackerSocket>();
  const ctx: HandlerContext = {
    registry,
    ring,
    traffic,
    config,
    random: deps.random,
    now: deps.now,
    isConnected: (peerId) => sockets.has(peerId),
    deliver: (to, event, ...args) => {
      sockets.get(to)?.emit(event, ...args);
    },
  };

  const refuse = (code: ErrorCode, message: string) => {
    traffic.addError(code);
    return new HandshakeError(code, message);
  };

  io.use((socket, next) => {
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) {
      return next(refuse(ErrorCode.INVALID_HANDSHAKE, `bad handshake: ${describeIssues(auth.error)}`));
    }
    if (auth.data.version !== PROTOCOL_VERSION) {
      const message = `protocol version ${auth.data.version}, server speaks ${PROTOCOL_VERSION}`;
      return next(refuse(ErrorCode.VERSION_MISMATCH, message));
    }
    if (sockets.has(auth.data.peerId)) return next(refuse(ErrorCode.DUPLICATE_PEER_ID, 'peer ID already connected'));
    if (sockets.size >= config.maxConnections) return next(refuse(ErrorCode.SERVER_FULL, 'server is full, try later'));
    socket.data.peerId = auth.data.peerId;
    next();
  });

  // Shared by every connection: per-socket closures cost memory at tens of thousands of peers.
  const countIn = (packet: { data?: unknown }) => {
    traffic.transportIn += packetBytes(packet.data);
  };
  const countOut = (packet: { data?: unknown }) => {
    traffic.transportOut += packetBytes(packet.data);
  };
  // socket.io keeps each session's first HTTP request by default; nothing here needs it
  // once the handshake is read (socket.io's own memory-usage advice).
  io.engine.on('connection', (raw: { request: unknown }) => {
    raw.request = null;
  });

  io.on('connection', (socket: TrackerSocket) => {
    const peerId = socket.data.peerId;
    const peer = peerId.slice(0, 8);
    if (sockets.has(peerId)) {
      // Two handshakes with one ID raced past the middleware: the first one keeps it.
      traffic.addError(ErrorCode.DUPLICATE_PEER_ID);
      socket.disconnect(true);
      return;
    }
    sockets.set(peerId, socket);
    const bucket = new TokenBucket(config.rateLimitPerS, config.rateBurst, deps.now);
    let strikes = 0;
    logger.debug({ peer }, 'connected');
    socket.conn.on('packet', countIn);
    socket.conn.on('packetCreate', countOut);

    // Runs before any handler, for every event: rate limit, known name, ack present.
    socket.use((packet, next) => {
      const [event, ...args] = packet;
      const ack = args[args.length - 1];
      const answer = (code: ErrorCode, message: string) => {
        traffic.addError(code);
        logger.debug({ peer, event, code }, message);
        if (typeof ack === 'function') ack(errorAck(code, message));
      };
      if (!bucket.take()) {
        strikes++;
        answer(ErrorCode.RATE_LIMITED, 'too many events, slow down');
        if (strikes >= config.rateStrikes) {
          logger.warn({ peer, strikes }, 'disconnecting a socket that kept flooding');
          socket.disconnect(true);
        }
        return;
      }
      strikes = 0;
      if (!isEvent(event))
        return answer(ErrorCode.UNKNOWN_EVENT, `unknown event ${JSON.stringify(String(event)).slice(0, 64)}`);
      if (typeof ack !== 'function' || args.length !== 2) {
        return answer(ErrorCode.ACK_REQUIRED, `${event} takes one payload and an acknowledgement callback`);
      }
      next();
    });

    for (const event of Object.keys(HANDLERS) as (keyof ClientToServerEvents)[]) {
      const handler = HANDLERS[event];
      socket.on(event, (payload: unknown, ack: unknown) => {
        traffic.addEvent(event);
        let res: ReturnType<typeof handler>;
        try {
          res = handler(ctx, peerId, payload);
        } catch (err) {
          logger.error({ peer, err, event }, 'handler failed');
          res = errorAck(ErrorCode.INVALID_PAYLOAD, 'could not process the event');
        }
        if (!res.ok) {
          traffic.addError(res.code);
          logger.debug({ peer, event, code: res.code }, res.message);
        }
        (ack as (res: unknown) => void)(res);
      });
    }

    socket.on('disconnect', (reason) => {
      if (sockets.get(peerId) === socket) sockets.delete(peerId);
      registry.removePeer(peerId);
      ring.remove(peerId);
      logger.debug({ peer, reason }, 'disconnected');
    });
  });

  // A socket that stays connected but stops announcing a swarm leaves it after the TTL.
  const ttlMs = config.peerTtlS * 1000;
  const sweep = setInterval(
    () => {
      const dropped = registry.expire(deps.now() - ttlMs);
      if (dropped > 0) logger.debug({ dropped }, 'expired silent swarm members');
    },
    Math.min(MAX_SWEEP_INTERVAL_MS, ttlMs / 4),
  );
  sweep.unref();

  return {
    get connections() {
      return sockets.size;
    },
    destroy() {
      clearInterval(sweep);
    },
  };
}
