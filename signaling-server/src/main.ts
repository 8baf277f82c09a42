/** `ringswarm-tracker`: runs the server until SIGINT/SIGTERM. */
import { runServer } from './run.js';

runServer(process.argv.slice(2), process.env).catch((err: unknown) => {
  process.stderr.write(`ringswarm-tracker: ${(err as Error).message}\n`);
  process.exit(1);
});
