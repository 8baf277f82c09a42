// ringswarm's tracker for the benchmark, built the same way as bt-server.mjs: prints its
// port, and on SIGUSR2 collects garbage (node --expose-gc) and prints its memory, so both
// servers' retained memory is read the same way. With REDIS_URL it is one cluster instance,
// and the memory line also carries its Redis round trips per registry call.
import { startServer } from '../../../signaling-server/dist/index.js';

const redisUrl = process.env.REDIS_URL || undefined;
// Every load peer comes from 127.0.0.1: the per-address limits (new IDs, connections at
// once, handshakes per 10 s) are off here; the load generator opens thousands of sockets.
const server = await startServer({
  port: 0,
  host: '127.0.0.1',
  logLevel: 'silent',
  redisUrl,
  maxIdsPerIp: 0,
  maxConnsPerIp: 0,
  handshakesPerIp: 0,
});
console.log(`listening on ${server.port}`);
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  const calls = server.registry.calls ?? {};
  console.log(`memory ${JSON.stringify({ ...process.memoryUsage(), calls })}`);
});
process.once('SIGTERM', () => server.close().then(() => process.exit(0)));
