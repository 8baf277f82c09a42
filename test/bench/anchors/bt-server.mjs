// bittorrent-tracker's WebSocket tracker, for comparison runs only. Prints its port, and
// on SIGUSR2 collects garbage (node --expose-gc) and prints its memory.
// The package root loads a native module that may be missing; the server subpath does not.
import Server from 'bittorrent-tracker/server';

const server = new Server({ udp: false, http: false, ws: true, stats: false });
server.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
server.on('warning', () => {});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening on ${server.ws.address().port}`);
});
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  console.log(`memory ${JSON.stringify(process.memoryUsage())}`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
