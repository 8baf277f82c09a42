/**
 * The tracker's socket.io side: binds each socket to the peer ID whose key its handshake
 * proved (`protocol/tracker-auth.ts`; a proven newer socket replaces the ID's old one, here or
 * on another instance of the cluster), checks rate and event
 * names, and dispatches each event to its handler (./handlers). Every inbound payload is
 * validated there; bad input gets an error ack and the socket stays. Only abuse (a flood
 * past the rate limit, an oversize message) disconnects.
 */
import {
  type ClientToServerEvents,
  checkTrackerAuth,
  describeIssues,
  ErrorCode,
  HandshakeAuthSchema,
  type Inbound,
  isPeerId,
  PROTOCOL_VERSION,
  type ServerToClientEvents,
  TrackerFeature,
  type TrackerHello,
} from '@ringswarm/shared/protocol';
import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import type { ServerConfig } from './config.js';
import { ICE_ADDRESS_BURST, ICE_PER_ADDRESS_PER_S, ICE_PER_SOCKET_PER_S, ICE_SOCKET_BURST } from './handlers/ice.js';
import { errorAck, HANDLERS, type Handler, type HandlerContext } from './handlers/index.js';
import { SIGNAL_TARGET_BURST, SIGNALS_PER_TARGET_PER_S } from './handlers/signal.js';
import { NewIdLimiter, NonceCache, verifyEd25519 } from './handshake-guard.js';
import { type Introductions, MemoryIntroductions } from './introductions.js';
import { KeyedRateLimit } from './keyed-rate-limit.js';
import { OperatorCounter } from './operator.js';
import { TokenBucket } from './rate-limit.js';
import type { RingMembers } from './ring-members.js';
import type { SwarmRegistry } from './swarm-registry.js';
import { packetBytes, type TrafficCounter } from './traffic.js';

export type TrackerServer = Server<Inbound<ClientToServerEvents>, ServerToClientEvents, object, SocketData>;
type TrackerSocket = Socket<Inbound<ClientToServerEvents>, ServerToClientEvents, object, SocketData>;

/** A socket's own state, set when it connects. */
export interface SocketData {
  peerId: string;
  /** Its events' rate limit. */
  bucket: TokenBucket;
  /** Events refused in a row for the rate limit; a socket with `rateStrikes` of them is dropped. */
  strikes: number;
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
  /** This instance's ID in the registry. */
  instanceId: string;
  /** True for a share on the operator's deny list; default none is. */
  isBlocked?: (discoveryKey: string) => boolean;
  /** Where refused announces are counted; default a fresh counter. */
  operator?: OperatorCounter;
  /** Who was introduced to whom; default in this process (a cluster passes the Redis one). */
  introductions?: Introductions;
  /** UDP port of the built-in STUN server, for `ice` answers; undefined when it is off. */
  stunPort?: number | undefined;
  /** Signals to one target from all senders; default {@link SIGNALS_PER_TARGET_PER_S}, {@link SIGNAL_TARGET_BURST}. */
  signalLimit?: SignalLimit | undefined;
  /**
   * Peers may be connected to other instances of a cluster: each socket joins its peer's room,
   * through which another instance's adapter delivers to it. Default false.
   */
  clustered?: boolean;
  /** Memberships one expiry sweep tick drops at most; default {@link EXPIRY_SLICE}. */
  expirySlice?: number | undefined;
}

/** The per-target signal limit: tokens a second and the burst. */
export interface SignalLimit {
  perTargetPerS: number;
  targetBurst: number;
}

export interface Tracker {
  /** Connected peers. */
  readonly connections: number;
  /** Resolves when the registry calls made for disconnects so far have finished. */
  settled(): Promise<void>;
  /** Stops the expiry sweep and the heartbeat. */
  destroy(): void;
}

/** How often silent swarm members are looked for, at most. */
export const MAX_SWEEP_INTERVAL_MS = 1_000;
/**
 * Memberships one sweep tick drops at most: the sweep walks them a slice at a time, so a mass
 * expiry (an instance of the cluster died) never blocks the event loop or Redis for long.
 * 1,000 a second drops a dead instance's 100,000 memberships in under two minutes.
 */
export const EXPIRY_SLICE = 1_000;
/** How often this instance publishes its figures to the registry (a heartbeat in a cluster). */
export const INSTANCE_HEARTBEAT_MS = 2_000;
/** A shared registry forgets an instance whose heartbeat stopped for this long. */
export const INSTANCE_TTL_MS = 3 * INSTANCE_HEARTBEAT_MS;

/** The socket.io room holding one peer's socket: how a signal reaches it on any instance. */
export const peerRoom = (peerId: string) => `peer:${peerId}`;

class HandshakeError extends Error {
  readonly data: { code: ErrorCode };
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.data = { code };
  }
}

const isEvent = (name: unknown): name is keyof ClientToServerEvents =>
  typeof name === 'string' && Object.hasOwn(HANDLERS, name);

/** What every connection is told first: the features this tracker speaks. */
const HELLO: TrackerHello = { features: [TrackerFeature.SIGNAL_WITHOUT_ACK] };

/**
 * Refuses a `signal` that came without an ack, by `signal:refused`. It names the request's
 * target only when that is a well-formed peer ID, so nothing else the sender made up comes back.
 */
function refuseSignal(socket: TrackerSocket, payload: unknown, code: ErrorCode, message: string): void {
  const to = typeof payload === 'object' && payload !== null ? (payload as { to?: unknown }).to : undefined;
  socket.emit('signal:refused', isPeerId(to) ? { to, code, message } : { code, message });
}

export function attachTracker(deps: TrackerDeps): Tracker {
  const { io, registry, ring, traffic, logger, config } = deps;
  /** peer ID -> socket, for relaying and duplicate detection. */
  const sockets = new Map<string, TrackerSocket>();
  const releases = new Set<Promise<void>>();
  const introductions = deps.introductions ?? new MemoryIntroductions();
  const ctx: HandlerContext = {
    registry,
    ring,
    traffic,
    config,
    random: deps.random,
    now: deps.now,
    isBlocked: deps.isBlocked ?? (() => false),
    operator: deps.operator ?? new OperatorCounter(),
    introductions,
    signalLimit: new KeyedRateLimit(
      deps.signalLimit?.perTargetPerS ?? SIGNALS_PER_TARGET_PER_S,
      deps.signalLimit?.targetBurst ?? SIGNAL_TARGET_BURST,
      deps.now,
    ),
    iceLimit: {
      perSocket: new KeyedRateLimit(ICE_PER_SOCKET_PER_S, ICE_SOCKET_BURST, deps.now),
      perAddress: new KeyedRateLimit(ICE_PER_ADDRESS_PER_S, ICE_ADDRESS_BURST, deps.now),
    },
    stunPort: deps.stunPort,
    socketInfo: (peerId) => {
      const socket = sockets.get(peerId);
      return socket && { address: socket.handshake.address, host: socket.handshake.headers.host };
    },
    isConnected: async (peerId) => sockets.has(peerId) || (await registry.isOnline(peerId)),
    deliver: (to, event, ...args) => {
      const local = sockets.get(to);
      // Not here: the adapter (Redis in a cluster) carries it to the instance that has it.
      if (local) local.emit(event, ...args);
      else io.to(peerRoom(to)).emit(event, ...args);
    },
  };

  const refuse = (code: ErrorCode, message: string) => {
    traffic.addError(code);
    return new HandshakeError(code, message);
  };

  const nonces = new NonceCache(deps.now);
  const newIds = new NewIdLimiter(config.maxIdsPerIp, config.idWindowS * 1000, deps.now);

  io.use((socket, next) => {
    const auth = HandshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) {
      return next(refuse(ErrorCode.INVALID_HANDSHAKE, `bad handshake: ${describeIssues(auth.error)}`));
    }
    if (auth.data.version !== PROTOCOL_VERSION) {
      const message = `protocol version ${auth.data.version}, server speaks ${PROTOCOL_VERSION}`;
      return next(refuse(ErrorCode.VERSION_MISMATCH, message));
    }
    const { peerId } = auth.data;
    const replacing = sockets.has(peerId);
    if (!replacing && sockets.size >= config.maxConnections) {
      return next(refuse(ErrorCode.SERVER_FULL, 'server is full, try later'));
    }
    const address = socket.handshake.address;
    if (!newIds.allows(address, peerId)) {
      return next(refuse(ErrorCode.RATE_LIMITED, 'too many new peer IDs from this address, try later'));
    }
    const failure = checkTrackerAuth(auth.data, deps.now(), verifyEd25519);
    if (failure) return next(refuse(ErrorCode.BAD_PROOF, `handshake proof refused: ${failure}`));
    // Only a proof that held is remembered: junk cannot fill the cache.
    const nonce = nonces.use(auth.data.nonce);
    if (nonce === 'replayed') return next(refuse(ErrorCode.BAD_PROOF, 'handshake proof refused: nonce already used'));
    if (nonce === 'full') return next(refuse(ErrorCode.SERVER_FULL, 'too many handshakes, try later'));
    newIds.record(address, peerId);
    socket.data.peerId = peerId;
    // socket.io keeps the handshake for the socket's life: the proof (key, nonce, signature)
    // is checked and not needed again.
    socket.handshake.auth = {};
    // The claim makes this instance the peer's owner before any event: a disconnect from an
    // instance it failed over from can then no longer remove its fresh memberships. The
    // socket proved the key, so it takes the ID over from a socket on another instance.
    registry.claim(peerId, socket.id).then(
      (previous) => {
        if (previous !== null) {
          traffic.addError(ErrorCode.DUPLICATE_PEER_ID);
          logger.debug({ peer: peerId.slice(0, 8) }, 'proven reconnect: closing the socket on the previous instance');
          io.in(previous).disconnectSockets(true);
        }
        next();
      },
      (err: unknown) => {
        logger.warn({ err: String(err) }, 'registry unavailable: accepting the connection unclaimed');
        next();
      },
    );
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

  /** Answers an event refused before its handler: by its ack, or a signal by `signal:refused`. */
  const answer = (socket: TrackerSocket, event: unknown, args: unknown[], code: ErrorCode, message: string) => {
    traffic.addError(code);
    logger.debug({ peer: socket.data.peerId.slice(0, 8), event, code }, message);
    const ack = args[args.length - 1];
    if (typeof ack === 'function') ack(errorAck(code, message));
    else if (event === 'signal' && args.length === 1) refuseSignal(socket, args[0], code, message);
  };

  const handle = async (
    socket: TrackerSocket,
    event: keyof ClientToServerEvents,
    payload: unknown,
    ack: ((res: unknown) => void) | undefined,
  ) => {
    traffic.addEvent(event);
    const peerId = socket.data.peerId;
    let res: Awaited<ReturnType<Handler>>;
    try {
      res = await HANDLERS[event](ctx, peerId, payload);
    } catch (err) {
      // Validation never throws: this is the registry (Redis) failing. Ask to retry.
      logger.warn({ peer: peerId.slice(0, 8), err: String(err), event }, 'handler failed');
      res = errorAck(ErrorCode.TIMEOUT, 'tracker registry unavailable, try again');
    }
    if (!res.ok) {
      traffic.addError(res.code);
      logger.debug({ peer: peerId.slice(0, 8), event, code: res.code }, res.message);
    }
    if (ack) ack(res);
    else if (!res.ok) refuseSignal(socket, payload, res.code, res.message);
  };

  // The listeners below are shared by every socket (`this` is the socket), and its state is
  // in `socket.data`: per-socket closures cost memory at tens of thousands of peers.

  /** Every event, before anything else: rate limit, known name, ack present (a signal may leave it out). */
  function onEvent(this: TrackerSocket, event: unknown, ...args: unknown[]): void {
    const data = this.data;
    if (!data.bucket.take()) {
      data.strikes++;
      answer(this, event, args, ErrorCode.RATE_LIMITED, 'too many events, slow down');
      if (data.strikes >= config.rateStrikes) {
        logger.warn(
          { peer: data.peerId.slice(0, 8), strikes: data.strikes },
          'disconnecting a socket that kept flooding',
        );
        this.disconnect(true);
      }
      return;
    }
    data.strikes = 0;
    if (!isEvent(event)) {
      answer(this, event, args, ErrorCode.UNKNOWN_EVENT, `unknown event ${JSON.stringify(String(event)).slice(0, 64)}`);
      return;
    }
    const ack = args[1];
    if (args.length === 2 && typeof ack === 'function') {
      void handle(this, event, args[0], ack as (res: unknown) => void);
    } else if (event === 'signal' && args.length === 1) {
      void handle(this, event, args[0], undefined);
    } else {
      answer(this, event, args, ErrorCode.ACK_REQUIRED, `${event} takes one payload and an acknowledgement callback`);
    }
  }

  /**
   * socket.io's own dispatch, after `onEvent` has seen the event: stopped here. No event has a
   * listener of its own, and the dispatch would cost a tick and an emit per event for nothing.
   */
  const handled = () => {};

  function onDisconnect(this: TrackerSocket, reason: string): void {
    const peerId = this.data.peerId;
    if (sockets.get(peerId) !== this) return;
    sockets.delete(peerId);
    ring.remove(peerId);
    introductions.forget(peerId);
    const release = registry.release(peerId).catch((err: unknown) => {
      // Its memberships expire after the TTL instead.
      logger.warn({ peer: peerId.slice(0, 8), err: String(err) }, 'registry unavailable: could not release a peer');
    });
    releases.add(release);
    void release.finally(() => releases.delete(release));
    logger.debug({ peer: peerId.slice(0, 8), reason }, 'disconnected');
  }

  io.on('connection', (socket: TrackerSocket) => {
    const peerId = socket.data.peerId;
    const stale = sockets.get(peerId);
    sockets.set(peerId, socket);
    if (stale) {
      // Both proved the key: the newer one is the owner reconnecting (its old socket has not
      // timed out yet). The old one's disconnect leaves the peer's state alone.
      traffic.addError(ErrorCode.DUPLICATE_PEER_ID);
      logger.debug({ peer: peerId.slice(0, 8) }, 'replaced by a newer connection that proved the key');
      stale.disconnect(true);
    }
    // Only another instance of a cluster delivers through the room; here the map finds the socket.
    if (deps.clustered) void socket.join(peerRoom(peerId));
    socket.data.bucket = new TokenBucket(config.rateLimitPerS, config.rateBurst, deps.now);
    socket.data.strikes = 0;
    logger.debug({ peer: peerId.slice(0, 8) }, 'connected');
    socket.conn.on('packet', countIn);
    socket.conn.on('packetCreate', countOut);
    socket.emit('hello', HELLO);
    socket.onAny(onEvent);
    socket.use(handled);
    socket.on('disconnect', onDisconnect);
  });

  // A socket that stays connected but stops announcing a swarm leaves it after the TTL; in a
  // cluster any live instance's sweep also drops the members of a dead one.
  const ttlMs = config.peerTtlS * 1000;
  const slice = deps.expirySlice ?? EXPIRY_SLICE;
  let sweeping = false;
  const sweep = setInterval(
    () => {
      // One slice per tick; a tick that finds the last one still running (a slow Redis) skips.
      if (sweeping) return;
      sweeping = true;
      registry
        .expire(deps.now() - ttlMs, slice)
        .then(
          (dropped) => {
            if (dropped > 0) logger.debug({ dropped }, 'expired silent swarm members');
          },
          (err: unknown) => logger.debug({ err: String(err) }, 'expiry sweep failed'),
        )
        .finally(() => {
          sweeping = false;
        });
    },
    Math.min(MAX_SWEEP_INTERVAL_MS, ttlMs / 4),
  );
  sweep.unref();
  const publish = () => {
    registry
      .publishInstance({ id: deps.instanceId, connections: sockets.size, ringMembers: ring.size })
      .catch((err: unknown) => logger.debug({ err: String(err) }, 'heartbeat failed'));
  };
  publish();
  const heartbeat = setInterval(publish, INSTANCE_HEARTBEAT_MS);
  heartbeat.unref();

  return {
    get connections() {
      return sockets.size;
    },
    async settled() {
      await Promise.all([...releases]);
    },
    destroy() {
      clearInterval(sweep);
      clearInterval(heartbeat);
    },
  };
}
