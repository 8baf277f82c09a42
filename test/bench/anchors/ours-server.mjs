// ringswarm's tracker for the benchmark, built the same way as bt-server.mjs: prints its
// port, and on SIGUSR2 collects garbage (node --expose-gc) and prints its memory, so both
// servers' retained memory is read the same way.
import { startServer } from '../../../signaling-server/dist/index.js';

const server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'silent' });
console.log(`listening on ${server.port}`);
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  console.log(`memory ${JSON.stringify(process.memoryUsage())}`);
});
process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
