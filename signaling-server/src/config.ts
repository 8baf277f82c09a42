/**
 * Server configuration from command-line flags and environment variables.
 * Flags win over the environment; every setting has a default.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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
  /** Largest socket.io message accepted, bytes; a larger one disconnects. Default 64 KiB. */
  maxMessageBytes: number;
  /** Largest `signal` payload relayed, bytes. Default 16 KiB. */
  maxSignalBytes: number;
  /** Most peers returned by one announce. Default 50. */
  maxNumwant: number;
}

export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../web-client/dist', import.meta.url));

export const DEFAULTS: ServerConfig = {
  port: 8080,
  host: undefined,
  staticDir: DEFAULT_STATIC_DIR,
  logLevel: 'info',
  announceIntervalS: 60,
  maxMessageBytes: 64 * 1024,
  maxSignalBytes: 16 * 1024,
  maxNumwant: 50,
};

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

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

export const USAGE = `Usage: ringswarm-tracker [options]

  --port <n>        TCP port (env PORT, default 8080; 0 = any free port)
  --host <addr>     interface to bind (env HOST, default all interfaces)
  --static-dir <d>  built web client to serve (env STATIC_DIR)
  --log-level <l>   fatal|error|warn|info|debug|trace|silent (env LOG_LEVEL, default info)
  -h, --help        show this help`;

/** Parses flags and environment; throws {@link ConfigError} with a readable message. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig & { help: boolean } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'static-dir': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const pick = (flag: string, envName: string): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env[envName] || undefined;
  };
  const config: ServerConfig & { help: boolean } = { ...DEFAULTS, help: values.help === true };
  const port = pick('port', 'PORT');
  if (port !== undefined) config.port = intIn('port', port, 0, 65535);
  const host = pick('host', 'HOST');
  if (host !== undefined) config.host = host;
  const staticDir = pick('static-dir', 'STATIC_DIR');
  if (staticDir !== undefined) config.staticDir = staticDir;
  const logLevel = pick('log-level', 'LOG_LEVEL');
  if (logLevel !== undefined) {
    if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`log level must be one of ${[...LOG_LEVELS].join(', ')}`);
    config.logLevel = logLevel;
  }
  return config;
}
