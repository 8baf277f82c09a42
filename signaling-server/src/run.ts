/** Runs the server from command-line arguments until SIGINT/SIGTERM (npm start, `ringswarm tracker`). */
import { ConfigError, loadConfig, USAGE } from './config.js';
import { startServer } from './server.js';

/** Starts the server; resolves once it listens. Exits the process on bad arguments (2) or on a signal (0). */
export async function runServer(argv: string[], env: NodeJS.ProcessEnv, program = 'ringswarm-tracker'): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const server = await startServer(config);
  process.stdout.write(`ringswarm listening on ${server.url}\n`);
  if (server.stunPort !== undefined) {
    process.stdout.write(
      `STUN on UDP port ${server.stunPort}: peers get stun:<the host they opened>:${server.stunPort}\n`,
    );
  }
  const stop = (signal: string) => {
    process.stdout.write(`ringswarm: ${signal}, shutting down\n`);
    server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
