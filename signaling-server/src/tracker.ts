/**
 * The tracker's socket.io side: binds each socket to a peer ID, answers announces from the
 * swarm registry, and relays WebRTC signaling between peers that share a swarm.
 * Every inbound payload is validated; bad input gets an error ack and the socket stays.
 */
import {
  type Ack,
  AnnounceRequestSchema,
  type ClientToServerEvents,
  describeIssues,
  ErrorCode,
  HandshakeAuthSchema,
  type Inbound,
  PROTOCOL_VERSION,
  type ServerToClientEvents,
  SignalRequestSchema,
} from '@ringswarm/shared';
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { ServerConfig } from './config.js';
import type { SwarmRegistry } from './swarm-registry.js';
import { jsonBytes, packetBytes, type TrafficCounter } from './traffic.js';

export type TrackerServer = Server<Inbound<ClientToServerEvents>, ServerToClientEvents, object, SocketData>;
type TrackerSocket = Socket<Inbound<ClientToServerEvents>, ServerToClientEvents, object, SocketData>;

export interface SocketData {
  peerId: string;
}

export interface TrackerDeps {
  io: TrackerServer;
  registry: SwarmRegistry;
  traffic: TrafficCounter;
  logger: Logger;
  config: ServerConfig;
  random: () => number;
}

function errorAck(code: ErrorCode, message: string): Ack {
  return { ok: false, code, message };
}

class HandshakeError extends Error {
  readonly data: { code: ErrorCode };
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.data = { code };
  }
}

export function attachTracker(deps: TrackerDeps): void {
  const { io, registry, traffic, logger, config } = deps;
  /** peer ID -> socket ID, for relaying and duplicate detection. */
  const sockets = new Map<string, string>();

  io.use((socket, next) => {
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) {
      return next(new HandshakeError(ErrorCode.INVALID_HANDSHAKE, `bad handshake: ${describeIssues(auth.error)}`));
    }
    if (auth.data.version !== PROTOCOL_VERSION) {
      return next(
        new HandshakeError(
          ErrorCode.VERSION_MISMATCH,
          `protocol version ${auth.data.version}, server speaks ${PROTOCOL_VERSION}`,
        ),
      );
    }
    if (sockets.has(auth.data.peerId)) {
      return next(new HandshakeError(ErrorCode.DUPLICATE_PEER_ID, 'peer ID already connected'));
    }
    socket.data.peerId = auth.data.peerId;
    next();
  });

  io.on('connection', (socket: TrackerSocket) => {
    const peerId = socket.data.peerId;
    sockets.set(peerId, socket.id);
    const log = logger.child({ peerId: peerId.slice(0, 8) });
    log.debug('connected');
    socket.conn.on('packet', (packet: { data?: unknown }) => {
      traffic.transportIn += packetBytes(packet.data);
    });
    socket.conn.on('packetCreate', (packet: { data?: unknown }) => {
      traffic.transportOut += packetBytes(packet.data);
    });

    /** Wraps a handler: requires an ack callback, counts bytes, turns throws into an error ack. */
    const handle = (event: string, handler: (payload: unknown) => Ack) => {
      socket.on(event as keyof ClientToServerEvents, (payload: unknown, ack: unknown) => {
        traffic.addInbound(event, jsonBytes(payload));
        if (typeof ack !== 'function') {
          log.warn({ event, code: ErrorCode.ACK_REQUIRED }, 'event without ack ignored');
          return;
        }
        let res: Ack;
        try {
          res = handler(payload);
        } catch (err) {
          log.error({ err, event }, 'handler failed');
          res = errorAck(ErrorCode.INVALID_PAYLOAD, 'could not process the event');
        }
        if (!res.ok) log.debug({ event, code: res.code }, res.message);
        ack(res);
      });
    };

    handle('announce', (payload) => {
      const parsed = AnnounceRequestSchema.safeParse(payload);
      if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
      const req = parsed.data;
      if (req.event === 'stopped') {
        registry.remove(req.infoHash, peerId);
        return { ok: true, peers: [], ...countsOf(req.infoHash), interval: config.announceIntervalS };
      }
      registry.upsert(req.infoHash, peerId, { left: req.left }, req.event === 'completed');
      const numwant = Math.min(req.numwant, config.maxNumwant);
      const peers = registry.sample(req.infoHash, peerId, numwant, deps.random);
      return { ok: true, peers, ...countsOf(req.infoHash), interval: config.announceIntervalS };
    });

    handle('signal', (payload) => {
      const parsed = SignalRequestSchema.safeParse(payload);
      if (!parsed.success) return errorAck(ErrorCode.INVALID_PAYLOAD, describeIssues(parsed.error));
      const { to, data } = parsed.data;
      const size = jsonBytes(data);
      if (size > config.maxSignalBytes) {
        return errorAck(ErrorCode.PAYLOAD_TOO_LARGE, `signal of ${size} bytes exceeds ${config.maxSignalBytes}`);
      }
      const target = sockets.get(to);
      if (!target) return errorAck(ErrorCode.UNKNOWN_PEER, 'target peer is not connected');
      if (!registry.shareSwarm(peerId, to)) {
        return errorAck(ErrorCode.NOT_ALLOWED, 'target peer shares no swarm with the sender');
      }
      io.to(target).emit('signal', { from: peerId, data });
      traffic.addRelayed('signal', size);
      return { ok: true };
    });

    socket.on('disconnect', (reason) => {
      if (sockets.get(peerId) === socket.id) sockets.delete(peerId);
      registry.removePeer(peerId);
      log.debug({ reason }, 'disconnected');
    });
  });

  function countsOf(infoHash: string) {
    const { complete, incomplete } = registry.counts(infoHash);
    return { complete, incomplete };
  }
}
