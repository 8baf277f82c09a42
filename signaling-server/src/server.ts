/**
 * The ringswarm server: one HTTP (or, with `https`, TLS) port carrying the web client, the
 * socket.io tracker and the operations endpoints (/health, /api/stats, /metrics,
 * /api/report; the operator's controls are in ./operator.ts and ./deny-list.ts), the ICE
 * servers for peers (/api/ice: STUN only; TURN credentials come over the socket, see ./ice.ts) and
 * the origins other machines can use (/api/addresses, see ./addresses.ts); beside it, on UDP,
 * the built-in STUN server (./stun/). With `redisUrl` it is one instance of a cluster
 * (./cluster.ts); without, everything stays in this process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { type AddressesAnswer, ErrorCode } from '@ringswarm/shared/protocol';
import { type Logger, pino } from 'pino';
import { Server } from 'socket.io';
import { type InterfaceList, originsOf, reachableAddresses, urlHost } from './addresses.js';
import { type Cluster, startCluster } from './cluster.js';
import { DEFAULTS, type ServerConfig, userConfigDir } from './config.js';
import { DenyList, type DenyListWarning } from './deny-list.js';
import { isDnsName } from './host.js';
import { addSecurityHeaders, setSecurityHeaders } from './http-headers.js';
import { builtInStunUrl, stunAnswer } from './ice.js';
import { MemoryIntroductions } from './introductions.js';
import { IpLimits } from './ip-limits.js';
import { createMetrics } from './metrics.js';
import { adminAccess, OperatorCounter, type ReportLimits, reportEndpoint, swarmPrefix } from './operator.js';
import { RingMembers } from './ring-members.js';
import { staticFiles } from './static-files.js';
import { CachedJson, largestSwarms, MAX_STATS_SWARMS } from './stats-cache.js';
import { StunCounter, StunResponder } from './stun/responder.js';
import { type InstanceInfo, MemorySwarmRegistry, type SwarmRegistry } from './swarm-registry.js';
import { type CertificateNames, loadTlsFiles, selfSignedIdentity, type TlsIdentity } from './tls.js';
import { type TlsFront, tlsFront } from './tls-front.js';
import { attachTracker, INSTANCE_TTL_MS, type SignalLimit, type Tracker, type TrackerServer } from './tracker.js';
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
  /**
   * Runs the built-in STUN server on a UDP port the system picks, whatever `stunPort` says
   * (tests: parallel servers never fight over one port). {@link RunningServer.stunPort} tells which.
   */
  stunAnyPort?: boolean;
  /** The machine's interfaces, read on every /api/addresses request; default `os.networkInterfaces`. */
  networkInterfaces?: () => InterfaceList;
  /** Rate limits of POST /api/report; default {@link DEFAULT_REPORT_LIMITS}. */
  reportLimits?: Partial<ReportLimits>;
  /** Signals relayed to one target; default SIGNALS_PER_TARGET_PER_S, SIGNAL_TARGET_BURST (./handlers/signal.ts). */
  signalLimit?: SignalLimit;
}

/** How long a browser may keep the /api/addresses answer: addresses change rarely, but they do (DHCP, Wi-Fi). */
export const ADDRESSES_MAX_AGE_S = 5;

/** The certificate `npm start` reports (no key). */
export type CertificateInfo = Omit<TlsIdentity, 'key'>;

export interface RunningServer {
  /** Base URL, e.g. http://localhost:8080 */
  readonly url: string;
  readonly port: number;
  /** `https` with the `https` setting. */
  readonly scheme: 'http' | 'https';
  /**
   * Every origin other machines can use, e.g. `http://192.168.1.20:8080`, now (in the order
   * of {@link reachableAddresses}); empty when the machine has no other address. The same list
   * as GET /api/addresses.
   */
  origins(): string[];
  /** The TLS certificate in use; undefined without `https`. */
  readonly certificate: CertificateInfo | undefined;
  readonly io: TrackerServer;
  /** This instance's ID (random per start). */
  readonly instanceId: string;
  /** In memory, or in Redis when `redisUrl` was given. */
  readonly registry: SwarmRegistry;
  readonly ring: RingMembers;
  readonly traffic: TrafficCounter;
  /** UDP port of the built-in STUN server; undefined when it is off. */
  readonly stunPort: number | undefined;
  /** STUN requests answered and datagrams dropped (zero when STUN is off). */
  readonly stun: StunCounter;
  /** Refused announces and reports (what /metrics shows of them). */
  readonly operator: OperatorCounter;
  /**
   * Reads the deny list file again (what SIGHUP does) and logs how many entries it holds;
   * resolves with that number. When the file cannot be read it logs why, keeps the old list
   * and rejects with a `DenyListError`. Resolves 0 without `denyList`.
   */
  reloadDenyList(): Promise<number>;
  /** Stops accepting, closes every socket, resolves when the port is free. Idempotent. */
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown, cache = 'no-store'): void {
  jsonText(res, status, JSON.stringify(body), cache);
}

function jsonText(res: ServerResponse, status: number, text: string, cache = 'no-store'): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': cache }).end(text);
}

/** The operator's certificate, or the self-signed one for localhost, the loopback and all interface addresses. */
async function tlsIdentity(config: ServerConfig, interfaces: InterfaceList, nowMs: number): Promise<TlsIdentity> {
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    return loadTlsFiles(config.tlsCert, config.tlsKey, nowMs);
  }
  // The machine's own name too, when it is one a certificate can carry.
  const machine = hostname().toLowerCase().replace(/\.$/, '');
  const names: CertificateNames = {
    dns: ['localhost', ...(isDnsName(machine) && machine !== 'localhost' ? [machine] : [])],
    ips: ['127.0.0.1', '::1', ...reachableAddresses(interfaces)],
  };
  return selfSignedIdentity(config.configDir ?? userConfigDir(process.env), names, nowMs);
}

export async function startServer(
  overrides: Partial<ServerConfig> = {},
  options: StartOptions = {},
): Promise<RunningServer> {
  // From code, STUN is off unless asked for (see ServerConfig.stunPort).
  const config: ServerConfig = { ...DEFAULTS, stunPort: 0, ...overrides };
  const logger = options.logger ?? pino({ level: config.logLevel });
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const instanceId = randomBytes(8).toString('hex');
  const interfaces = options.networkInterfaces ?? networkInterfaces;
  const scheme = config.https || config.tlsCert !== undefined ? 'https' : 'http';
  const denyList = new DenyList(config.denyList);
  const warnDenyList = (warnings: DenyListWarning[]) => {
    for (const w of warnings)
      logger.warn({ file: config.denyList, line: w.line }, `deny list line ${w.line}: ${w.message}`);
  };
  // Before any port is taken: a missing deny list, like a certificate problem, is the
  // operator's to fix, not a half-started server.
  const loaded = await denyList.load();
  warnDenyList(loaded.warnings);
  if (config.denyList !== undefined) logger.info({ entries: loaded.entries }, 'deny list loaded');
  const tls = scheme === 'https' ? await tlsIdentity(config, interfaces(), now()) : undefined;
  const stunPort = options.stunAnyPort ? 0 : config.stunPort;
  const stun =
    options.stunAnyPort || config.stunPort > 0
      ? await StunResponder.listen({ port: stunPort, host: config.host, logger, interfaces })
      : undefined;
  let cluster: Cluster | undefined;
  try {
    cluster = config.redisUrl
      ? await startCluster({
          url: config.redisUrl,
          instanceId,
          peerTtlMs: config.peerTtlS * 1000,
          instanceTtlMs: INSTANCE_TTL_MS,
          logger,
          random,
        })
      : undefined;
  } catch (err) {
    await stun?.destroy();
    throw err;
  }
  const registry: SwarmRegistry = cluster?.registry ?? new MemorySwarmRegistry();
  const ring = new RingMembers();
  const introductions = cluster?.introductions ?? new MemoryIntroductions();
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
  /** Every live instance's figures, this one's fresh. */
  const instances = async (): Promise<InstanceInfo[]> => {
    const own: InstanceInfo = { id: instanceId, connections: connections(), ringMembers: ring.size };
    return [own, ...(await registry.instances()).filter((i) => i.id !== instanceId)];
  };
  const stunCounter = stun?.counter ?? new StunCounter();
  const operator = new OperatorCounter();
  // Built lazily below; /metrics reads how often each /api/stats view was built.
  let statsCaches: { public: CachedJson; admin: CachedJson } | undefined;
  const metrics = createMetrics({
    registry,
    ring,
    traffic,
    stun: stunCounter,
    connections,
    instances,
    operator,
    blockedShares: () => denyList.size,
    statsBuilds: () => ({ public: statsCaches?.public.builds ?? 0, admin: statsCaches?.admin.builds ?? 0 }),
  });
  const mode = cluster ? 'redis' : 'memory';
  const report = reportEndpoint({
    logger,
    counter: operator,
    now,
    ...(options.reportLimits ? { limits: options.reportLimits } : {}),
  });

  /**
   * Aggregate counts for everyone, never a swarm's key: `swarms` is how many are live. The
   * admin also gets `perSwarm`, keyed by a short discovery key prefix, for the
   * {@link MAX_STATS_SWARMS} largest swarms, and `perSwarmTotal` (the registry's full swarm
   * map is read only then). Neither grows with the number of sockets; each is built at most
   * once a second (./stats-cache.ts).
   */
  const stats = async (admin: boolean) => {
    const [totals, all, perSwarm] = await Promise.all([
      registry.totals(),
      instances(),
      admin ? registry.swarms() : undefined,
    ]);
    const body = {
      version: VERSION,
      mode,
      /** Connections to this instance; `cluster.connections` counts all of them. */
      connections: connections(),
      peers: totals.peers,
      seeders: totals.seeders,
      leechers: totals.leechers,
      ringMembers: ring.size,
      swarms: totals.swarms,
      instance: all[0],
      cluster: {
        instances: all.length,
        connections: all.reduce((n, i) => n + i.connections, 0),
        members: all,
      },
      traffic: traffic.toJSON(),
    };
    if (!perSwarm) return body;
    const view = largestSwarms(perSwarm, MAX_STATS_SWARMS, swarmPrefix);
    return { ...body, perSwarm: view.perSwarm, perSwarmTotal: view.total };
  };
  statsCaches = { public: new CachedJson(() => stats(false), now), admin: new CachedJson(() => stats(true), now) };
  const cachedStats = statsCaches;

  /** Removes every member of every live swarm the deny list now blocks; resolves with how many. */
  const dropBlockedSwarms = async (): Promise<number> => {
    let dropped = 0;
    for (const [key] of await registry.swarms()) {
      if (!denyList.has(key)) continue;
      // A bounded number of rounds: members that join meanwhile are refused anyway.
      for (let round = 0; round < 100; round++) {
        const members = await registry.sample(key, '', 1_000, random);
        if (members.length === 0) break;
        // Introductions made by its announce answers go too: they may no longer signal each other.
        await Promise.all(
          members.map((peerId) => Promise.all([registry.remove(key, peerId), introductions.revoke(peerId)])),
        );
        dropped += members.length;
      }
    }
    return dropped;
  };

  let port = 0;
  const origins = () => originsOf(scheme, reachableAddresses(interfaces(), config.host), port);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(res);
    const [path] = (req.url ?? '/').split('?');
    if (path === '/health') {
      if (!cluster || cluster.healthy()) return json(res, 200, { ok: true, version: VERSION, mode });
      return json(res, 503, { ok: false, version: VERSION, mode, redis: 'unreachable' });
    }
    if (path === '/api/stats') {
      const access = adminAccess(req.headers.authorization, config.adminToken);
      if (access === 'denied') {
        return json(res, 401, { ok: false, code: ErrorCode.NOT_ALLOWED, message: 'wrong admin token' });
      }
      cachedStats[access === 'admin' ? 'admin' : 'public'].get().then(
        (text) => jsonText(res, 200, text),
        (err: unknown) => {
          logger.warn({ err: String(err) }, 'stats failed');
          json(res, 503, { ok: false, version: VERSION, mode, error: 'registry unavailable' });
        },
      );
      return;
    }
    if (path === '/api/report') return report(req, res);
    if (path === '/api/addresses') {
      const answer: AddressesAnswer = { origins: origins() };
      return json(res, 200, answer, `public, max-age=${ADDRESSES_MAX_AGE_S}`);
    }
    if (path === '/api/ice') {
      // STUN only: TURN credentials go to connected peers over their socket (the `ice` event).
      const own = stun && builtInStunUrl(req.headers.host, stun.port);
      return json(res, 200, stunAnswer(config, own));
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
  };
  const secure = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : undefined;
  const http = secure ?? createServer(onRequest);
  // With TLS, the port is a front that hands TLS to `secure` and redirects plain HTTP (./tls-front.ts).
  const front: TlsFront | undefined = secure && tlsFront(secure);
  const listener = front?.server ?? http;

  const ipLimits = new IpLimits({
    maxConnsPerIp: config.maxConnsPerIp,
    handshakesPerIp: config.handshakesPerIp,
    now,
  });
  const io: TrackerServer = new Server(http, {
    maxHttpBufferSize: config.maxMessageBytes,
    serveClient: false,
    cors: { origin: true },
    // Per-address limits before the upgrade and before any signature is checked. The refusal's
    // message is the code: a polling client reads it in the 403 body, a WebSocket client gets
    // the 400 body (browsers show neither and report a plain connection error).
    allowRequest: (req, callback) => {
      const code = ipLimits.admit(req.socket.remoteAddress ?? '');
      if (code === null) return callback(null, true);
      traffic.addError(code);
      callback(code, false);
    },
    ...(cluster ? { adapter: cluster.adapter } : {}),
  });
  io.engine.on('connection', (raw: { remoteAddress: string; once(event: 'close', f: () => void): void }) => {
    const address = raw.remoteAddress;
    ipLimits.opened(address);
    raw.once('close', () => ipLimits.closed(address));
  });
  // socket.io's own HTTP answers (polling, the upgrade) carry the same headers as the page.
  io.engine.on('headers', addSecurityHeaders);
  tracker = attachTracker({
    io,
    instanceId,
    registry,
    ring,
    traffic,
    logger,
    config,
    random,
    now,
    isBlocked: (key) => denyList.has(key),
    operator,
    stunPort: stun?.port,
    introductions,
    signalLimit: options.signalLimit,
    clustered: cluster !== undefined,
  });

  await new Promise<void>((resolve, reject) => {
    // Rejects only once everything is let go, so whoever retries at once finds the UDP port free.
    const fail = (err: Error) => {
      tracker?.destroy();
      front?.destroy();
      Promise.allSettled([cluster?.close(), stun?.destroy()]).then(() => reject(err));
    };
    listener.once('error', fail);
    listener.listen(config.port, config.host, () => {
      listener.off('error', fail);
      resolve();
    });
  });
  port = (listener.address() as AddressInfo).port;
  const shownHost = !config.host || config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `${scheme}://${urlHost(shownHost)}:${port}`;
  let certificate: CertificateInfo | undefined;
  if (tls) {
    const { key: _key, ...info } = tls;
    certificate = info;
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    scheme,
    origins,
    certificate,
    io,
    instanceId,
    registry,
    ring,
    traffic,
    stunPort: stun?.port,
    stun: stunCounter,
    operator,
    async reloadDenyList() {
      let entries: number;
      try {
        const loaded = await denyList.load();
        entries = loaded.entries;
        warnDenyList(loaded.warnings);
      } catch (err) {
        logger.error({ err: String(err), entries: denyList.size }, 'deny list reload failed, the old list stays');
        throw err;
      }
      // Live swarms that are blocked now lose their members at once (they would on their next announce).
      const dropped = await dropBlockedSwarms().catch((err: unknown) => {
        logger.warn({ err: String(err) }, 'registry unavailable: blocked swarms empty on their next announces');
        return 0;
      });
      logger.info({ entries, dropped }, `deny list reloaded: ${entries} entries, ${dropped} memberships dropped`);
      return entries;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        tracker?.destroy();
        io.disconnectSockets(true);
        front?.destroy();
        // io.close() also closes the HTTP server.
        io.close(() => resolve());
        http.closeAllConnections();
      }).then(async () => {
        // Let the disconnect handlers' releases reach Redis before its connections close.
        await tracker?.settled();
        await Promise.all([cluster?.close(), stun?.destroy()]);
      });
      return closing;
    },
  };
}
