/**
 * Server configuration from command-line flags and environment variables.
 * Flags win over the environment; every setting has a default.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_STUN_PORT } from './stun/responder.js';

export interface ServerConfig {
  /** TCP port; 0 picks a free one. Default 8080. */
  port: number;
  /** Interface to bind; default all interfaces. */
  host: string | undefined;
  /** Folder with the built web client. Default `web-client/dist` of this repository. */
  staticDir: string;
  /** pino level: fatal, error, warn, info, debug, trace or silent. Default info. */
  logLevel: string;
  /** Seconds between a peer's regular announces. Default 60. */
  announceIntervalS: number;
  /** A swarm member that has not announced for this long is dropped. Default 150 s. */
  peerTtlS: number;
  /** Largest socket.io message accepted, bytes; a larger one disconnects. Default 64 KiB. */
  maxMessageBytes: number;
  /** Largest `signal` payload relayed, bytes. Default 16 KiB. */
  maxSignalBytes: number;
  /** Most peers returned by one announce. Default 50. */
  maxNumwant: number;
  /** Most swarms one connection may be in. Default 256. */
  maxSwarmsPerPeer: number;
  /** Most simultaneous connections. Default 20,000. */
  maxConnections: number;
  /** Events per second a socket may send on average (token bucket rate). Default 50. */
  rateLimitPerS: number;
  /** Events a socket may send in a burst (token bucket size). Default 200. */
  rateBurst: number;
  /** Rate-limited events in a row after which the socket is disconnected. Default 100. */
  rateStrikes: number;
  /**
   * Most distinct new peer IDs one source address (an IPv6 /64) may bring per
   * {@link ServerConfig.idWindowS}; 0 turns the limit off (e.g. behind a proxy that hides
   * addresses). Loopback is not exempt. Default 32.
   */
  maxIdsPerIp: number;
  /** The window of {@link ServerConfig.maxIdsPerIp}, seconds. Default 600. */
  idWindowS: number;
  /**
   * Most connections one source address (an IPv6 /64) may hold at once, checked before the
   * WebSocket upgrade; past it a handshake is refused with ERR_TOO_MANY_CONNECTIONS. High
   * enough for an office behind one NAT; 0 turns it off (e.g. behind a reverse proxy, where
   * every connection comes from the proxy). Loopback is not exempt. Default 128.
   */
  maxConnsPerIp: number;
  /**
   * Handshakes one source address may start per 10 s (a token bucket of this size refilled
   * over 10 s), checked before the upgrade and before any proof is verified; past it a
   * handshake is refused with ERR_RATE_LIMITED. 0 turns it off. Default 128.
   */
  handshakesPerIp: number;
  /**
   * `redis://` URL: the registry lives in Redis and socket.io uses the Redis adapter, so
   * several instances act as one tracker. Default none: one process, in-memory registry.
   */
  redisUrl: string | undefined;
  /** STUN servers handed to peers, e.g. `stun:stun.example.org:3478`. Default none. */
  stunUrls: string[];
  /**
   * TURN servers handed to peers, e.g. `turn:turn.example.org:3478?transport=udp`, with
   * credentials minted per request from {@link ServerConfig.turnSecret}. Default none.
   */
  turnUrls: string[];
  /** The secret shared with the TURN server (coturn's `static-auth-secret`). Default none. */
  turnSecret: string | undefined;
  /** Seconds a TURN credential stays valid (it is renewed at half its lifetime). Default 600 (10 minutes). */
  turnTtlS: number;
  /**
   * UDP port of the built-in STUN server; 0 turns it off. While it runs, /api/ice hands out
   * `stun:<the host the page used>:<port>` before the configured STUN servers. Default 3478
   * from the command line; {@link startServer} called from code runs without STUN unless
   * given a port, so an embedded server never takes a well-known port unasked.
   */
  stunPort: number;
  /**
   * Serve the page and the tracker over TLS. With {@link ServerConfig.tlsCert} and
   * {@link ServerConfig.tlsKey} it uses that certificate; without, a self-signed one kept in
   * {@link ServerConfig.configDir}. Default off.
   */
  https: boolean;
  /** PEM certificate file (a chain, leaf first, is fine); implies `https`. Default none. */
  tlsCert: string | undefined;
  /** PEM private key file of {@link ServerConfig.tlsCert}. Default none. */
  tlsKey: string | undefined;
  /**
   * Per-user folder for the self-signed certificate. Default `$RINGSWARM_CONFIG_DIR`, else
   * `$XDG_CONFIG_HOME/ringswarm`, else `~/.config/ringswarm`.
   */
  configDir: string | undefined;
  /**
   * Bearer token that unlocks the per-swarm figures of /api/stats (`Authorization: Bearer
   * <token>`). Default none: /api/stats shows aggregate counts only, to everyone.
   */
  adminToken: string | undefined;
  /**
   * File of blocked shares, one share link or discovery key per line (./deny-list.ts), read
   * at start and again on SIGHUP. Default none.
   */
  denyList: string | undefined;
}

export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../web-client/dist', import.meta.url));

export const DEFAULTS: ServerConfig = {
  port: 8080,
  host: undefined,
  staticDir: DEFAULT_STATIC_DIR,
  logLevel: 'info',
  announceIntervalS: 60,
  peerTtlS: 150,
  maxMessageBytes: 64 * 1024,
  maxSignalBytes: 16 * 1024,
  maxNumwant: 50,
  maxSwarmsPerPeer: 256,
  maxConnections: 20_000,
  rateLimitPerS: 50,
  rateBurst: 200,
  rateStrikes: 100,
  maxIdsPerIp: 32,
  idWindowS: 600,
  maxConnsPerIp: 128,
  handshakesPerIp: 128,
  redisUrl: undefined,
  stunUrls: [],
  turnUrls: [],
  turnSecret: undefined,
  turnTtlS: 600,
  stunPort: DEFAULT_STUN_PORT,
  https: false,
  tlsCert: undefined,
  tlsKey: undefined,
  configDir: undefined,
  adminToken: undefined,
  denyList: undefined,
};

/** The per-user config folder: `RINGSWARM_CONFIG_DIR`, `XDG_CONFIG_HOME/ringswarm` or `~/.config/ringswarm`. */
export function userConfigDir(env: NodeJS.ProcessEnv): string {
  if (env.RINGSWARM_CONFIG_DIR) return resolve(env.RINGSWARM_CONFIG_DIR);
  if (env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME)) return join(env.XDG_CONFIG_HOME, 'ringswarm');
  return join(env.HOME || homedir(), '.config', 'ringswarm');
}

type NumericKey = { [K in keyof ServerConfig]: ServerConfig[K] extends number ? K : never }[keyof ServerConfig];

/** Numeric settings: flag, environment variable, accepted range. */
const NUMERIC: { key: NumericKey; flag: string; env: string; min: number; max: number; help: string }[] = [
  { key: 'port', flag: 'port', env: 'PORT', min: 0, max: 65_535, help: 'TCP port (0 = any free port)' },
  {
    key: 'announceIntervalS',
    flag: 'announce-interval',
    env: 'ANNOUNCE_INTERVAL',
    min: 5,
    max: 3_600,
    help: 'seconds between announces',
  },
  {
    key: 'peerTtlS',
    flag: 'peer-ttl',
    env: 'PEER_TTL',
    min: 10,
    max: 86_400,
    help: 'seconds a silent swarm member is kept',
  },
  {
    key: 'maxMessageBytes',
    flag: 'max-message-bytes',
    env: 'MAX_MESSAGE_BYTES',
    min: 1_024,
    max: 16 * 1024 * 1024,
    help: 'largest message; larger disconnects',
  },
  {
    key: 'maxSignalBytes',
    flag: 'max-signal-bytes',
    env: 'MAX_SIGNAL_BYTES',
    min: 256,
    max: 1024 * 1024,
    help: 'largest signal payload relayed',
  },
  {
    key: 'maxNumwant',
    flag: 'max-numwant',
    env: 'MAX_NUMWANT',
    min: 1,
    max: 1_000,
    help: 'most peers in one announce answer',
  },
  {
    key: 'maxSwarmsPerPeer',
    flag: 'max-swarms',
    env: 'MAX_SWARMS',
    min: 1,
    max: 100_000,
    help: 'most swarms per connection',
  },
  {
    key: 'maxConnections',
    flag: 'max-connections',
    env: 'MAX_CONNECTIONS',
    min: 1,
    max: 10_000_000,
    help: 'most simultaneous connections',
  },
  {
    key: 'rateLimitPerS',
    flag: 'rate-limit',
    env: 'RATE_LIMIT',
    min: 1,
    max: 1_000_000,
    help: 'events per second per socket',
  },
  {
    key: 'rateBurst',
    flag: 'rate-burst',
    env: 'RATE_BURST',
    min: 1,
    max: 1_000_000,
    help: 'burst of events per socket',
  },
  {
    key: 'rateStrikes',
    flag: 'rate-strikes',
    env: 'RATE_STRIKES',
    min: 1,
    max: 1_000_000,
    help: 'refused events in a row before disconnect',
  },
  {
    key: 'maxIdsPerIp',
    flag: 'max-ids-per-ip',
    env: 'MAX_IDS_PER_IP',
    min: 0,
    max: 1_000_000,
    help: 'new peer IDs per address per window (0 = no limit)',
  },
  {
    key: 'idWindowS',
    flag: 'id-window',
    env: 'ID_WINDOW',
    min: 1,
    max: 86_400,
    help: 'seconds of the --max-ids-per-ip window',
  },
  {
    key: 'maxConnsPerIp',
    flag: 'max-conns-per-ip',
    env: 'MAX_CONNS_PER_IP',
    min: 0,
    max: 10_000_000,
    help: 'connections per address at once (0 = no limit)',
  },
  {
    key: 'handshakesPerIp',
    flag: 'handshakes-per-ip',
    env: 'HANDSHAKES_PER_IP',
    min: 0,
    max: 1_000_000,
    help: 'handshakes per address per 10 s (0 = no limit)',
  },
  {
    key: 'stunPort',
    flag: 'stun-port',
    env: 'STUN_PORT',
    min: 0,
    max: 65_535,
    help: 'UDP port of the built-in STUN server (0 = off)',
  },
  {
    key: 'turnTtlS',
    flag: 'turn-ttl',
    env: 'TURN_TTL',
    min: 60,
    max: 7 * 86_400,
    help: 'seconds a TURN credential is valid',
  },
];

/** `stun:` or `stuns:` then host[:port]; RFC 7064. */
const STUN_URL = /^stuns?:[^\s?#/]+$/;
/** `turn:` or `turns:` then host[:port], optionally `?transport=udp|tcp`; RFC 7065. */
const TURN_URL = /^turns?:[^\s?#/]+(\?transport=(udp|tcp))?$/;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function intIn(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

const pad = (s: string) => s.padEnd(26);

export const USAGE = [
  'Usage: ringswarm-tracker [options]',
  '',
  ...NUMERIC.map((o) => `  ${pad(`--${o.flag} <n>`)}${o.help} (env ${o.env}, default ${DEFAULTS[o.key]})`),
  `  ${pad('--host <addr>')}interface to bind (env HOST, default all interfaces)`,
  `  ${pad('--static-dir <dir>')}built web client to serve (env STATIC_DIR)`,
  `  ${pad('--log-level <level>')}${LOG_LEVELS.join('|')} (env LOG_LEVEL, default info)`,
  `  ${pad('--redis-url <url>')}run as one instance of a cluster on this Redis (env REDIS_URL, default none)`,
  `  ${pad('--stun-url <url>')}STUN server for peers, repeatable (env STUN_URL, comma-separated; default none)`,
  `  ${pad('--turn-url <url>')}TURN server for peers, repeatable (env TURN_URL, comma-separated; default none)`,
  `  ${pad('--turn-secret <secret>')}coturn's static-auth-secret, signs TURN credentials (env TURN_SECRET)`,
  `  ${pad('--https')}serve over TLS, self-signed certificate unless --tls-cert (env HTTPS=1)`,
  `  ${pad('--tls-cert <file>')}PEM certificate (chain) for --https (env TLS_CERT)`,
  `  ${pad('--tls-key <file>')}PEM private key of --tls-cert (env TLS_KEY)`,
  `  ${pad('')}the self-signed certificate is kept in $RINGSWARM_CONFIG_DIR, else $XDG_CONFIG_HOME/ringswarm,`,
  `  ${pad('')}else ~/.config/ringswarm`,
  `  ${pad('--admin-token <token>')}shows per-swarm figures in /api/stats to "Authorization: Bearer <token>"`,
  `  ${pad('')}(env RINGSWARM_ADMIN_TOKEN; default none: aggregate counts only)`,
  `  ${pad('--deny-list <file>')}blocked shares, one share link or discovery key per line, reread on SIGHUP`,
  `  ${pad('')}(env DENY_LIST; default none)`,
  `  ${pad('-h, --help')}show this help`,
].join('\n');

/** Parses flags and environment; throws {@link ConfigError} with a readable message. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig & { help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {
    host: { type: 'string' },
    'static-dir': { type: 'string' },
    'log-level': { type: 'string' },
    'redis-url': { type: 'string' },
    'stun-url': { type: 'string', multiple: true },
    'turn-url': { type: 'string', multiple: true },
    'turn-secret': { type: 'string' },
    https: { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'admin-token': { type: 'string' },
    'deny-list': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  };
  for (const o of NUMERIC) options[o.flag] = { type: 'string' };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName] || undefined;
  };
  const config: ServerConfig & { help: boolean } = { ...DEFAULTS, help: values.help === true };
  for (const o of NUMERIC) {
    const raw = pick(o.flag, o.env);
    if (raw !== undefined) config[o.key] = intIn(o.flag, raw, o.min, o.max);
  }
  const host = pick('host', 'HOST');
  if (host !== undefined) config.host = host;
  const staticDir = pick('static-dir', 'STATIC_DIR');
  if (staticDir !== undefined) config.staticDir = staticDir;
  const logLevel = pick('log-level', 'LOG_LEVEL');
  if (logLevel !== undefined) {
    if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}`);
    config.logLevel = logLevel;
  }
  const redisUrl = pick('redis-url', 'REDIS_URL');
  if (redisUrl !== undefined) {
    if (!/^rediss?:\/\/\S+$/.test(redisUrl)) throw new ConfigError(`redis url must start with redis:// or rediss://`);
    config.redisUrl = redisUrl;
  }
  const list = (flag: string, envName: string): string[] => {
    const v = values[flag];
    if (Array.isArray(v)) return v.filter((u) => typeof u === 'string');
    return (env[envName] ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
  };
  config.stunUrls = list('stun-url', 'STUN_URL');
  for (const u of config.stunUrls) {
    if (!STUN_URL.test(u)) throw new ConfigError(`stun url must look like stun:host:port, got "${u}"`);
  }
  config.turnUrls = list('turn-url', 'TURN_URL');
  for (const u of config.turnUrls) {
    if (!TURN_URL.test(u))
      throw new ConfigError(`turn url must look like turn:host:port[?transport=udp|tcp], got "${u}"`);
  }
  const turnSecret = pick('turn-secret', 'TURN_SECRET');
  if (turnSecret !== undefined) config.turnSecret = turnSecret;
  if (config.turnUrls.length > 0 && config.turnSecret === undefined) {
    throw new ConfigError(`--turn-url needs --turn-secret (env TURN_SECRET), the TURN server's static-auth-secret`);
  }
  if (config.turnUrls.length === 0 && config.turnSecret !== undefined) {
    throw new ConfigError('--turn-secret is given but no --turn-url (env TURN_URL)');
  }
  if (values.https === true) config.https = true;
  else if (env.HTTPS !== undefined && env.HTTPS !== '') {
    if (!/^(1|true|yes|on|0|false|no|off)$/i.test(env.HTTPS))
      throw new ConfigError(`HTTPS must be 1 or 0, got "${env.HTTPS}"`);
    config.https = /^(1|true|yes|on)$/i.test(env.HTTPS);
  }
  const tlsCert = pick('tls-cert', 'TLS_CERT');
  const tlsKey = pick('tls-key', 'TLS_KEY');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key (env TLS_CERT, TLS_KEY) go together');
  }
  if (tlsCert !== undefined && tlsKey !== undefined) {
    config.tlsCert = tlsCert;
    config.tlsKey = tlsKey;
    config.https = true;
  }
  const adminToken = pick('admin-token', 'RINGSWARM_ADMIN_TOKEN');
  if (adminToken !== undefined) {
    if (!/^[\x21-\x7e]{16,512}$/.test(adminToken)) {
      throw new ConfigError('admin token must be 16 to 512 printable characters without spaces');
    }
    config.adminToken = adminToken;
  }
  const denyList = pick('deny-list', 'DENY_LIST');
  if (denyList !== undefined) config.denyList = resolve(denyList);
  config.configDir = userConfigDir(env);
  return config;
}
