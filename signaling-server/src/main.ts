#!/usr/bin/env node
/** `ringswarm-tracker`: runs the server until SIGINT/SIGTERM. */
import { ConfigError, loadConfig, USAGE } from './config.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`ringswarm-tracker: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const server = await startServer(config);
  process.stdout.write(`ringswarm listening on ${server.url}\n`);
  const stop = (signal: string) => {
    process.stdout.write(`ringswarm: ${signal}, shutting down\n`);
    server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`ringswarm-tracker: ${(err as Error).message}\n`);
  process.exit(1);
});
