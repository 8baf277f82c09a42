// A bare socket.io tracker, for the tracker benchmark only: the same events and answers as
// ringswarm's tracker (a hello naming signals without an ack, announce with an ack carrying a
// sample of the swarm's peer IDs, signal relayed to the target's socket, acked only when the
// sender asked, refused by signal:refused otherwise) and nothing else: no key check, no validation, no limits,
// no introductions, no expiry. What it costs is what socket.io itself costs for this load,
// the floor under any tracker built inside socket.io. Prints its port; on SIGUSR2 collects
// garbage (node --expose-gc) and prints its memory, as the other runners do.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { serveClient: false });
/** Swarm (discovery key) -> peer IDs in it. */
const swarms = new Map();
/** Peer ID -> its socket. */
const sockets = new Map();

io.on('connection', (socket) => {
  const peerId = String(socket.handshake.auth?.peerId ?? socket.id);
  sockets.set(peerId, socket);
  socket.emit('hello', { features: ['signal-without-ack'] });
  const joined = new Set();
  socket.on('announce', (msg, ack) => {
    let members = swarms.get(msg.discoveryKey);
    if (!members) {
      members = new Set();
      swarms.set(msg.discoveryKey, members);
    }
    members.add(peerId);
    joined.add(msg.discoveryKey);
    const peers = [];
    for (const id of members) {
      if (peers.length >= msg.numwant) break;
      if (id !== peerId) peers.push(id);
    }
    ack({ ok: true, peers, complete: 0, incomplete: members.size, interval: 60 });
  });
  socket.on('signal', (msg, ack) => {
    const to = sockets.get(msg.to);
    if (!to) {
      const refusal = { code: 'ERR_UNKNOWN_PEER', message: 'target peer is not connected' };
      return ack ? ack({ ok: false, ...refusal }) : socket.emit('signal:refused', { to: msg.to, ...refusal });
    }
    to.emit('signal', { from: peerId, data: msg.data });
    ack?.({ ok: true });
  });
  socket.on('disconnect', () => {
    if (sockets.get(peerId) === socket) sockets.delete(peerId);
    for (const key of joined) swarms.get(key)?.delete(peerId);
  });
});

http.listen(0, '127.0.0.1', () => console.log(`listening on ${http.address().port}`));
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  console.log(`memory ${JSON.stringify(process.memoryUsage())}`);
});
process.once('SIGTERM', () => io.close(() => process.exit(0)));
