/**
 * One TCP port for HTTPS and for the person who typed `http://` in front of it. The first
 * byte of a connection tells them apart: a TLS handshake record starts with 0x16, an HTTP
 * request with a letter. TLS goes to the HTTPS server (page and tracker); plain HTTP gets a
 * redirect to the same URL on https instead of a connection reset.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { parseHostHeader } from './host.js';
import { setSecurityHeaders } from './http-headers.js';

/** First byte of a TLS record carrying a handshake (RFC 8446 §5.1: ContentType handshake = 22). */
const TLS_HANDSHAKE = 0x16;
/** A connection that sends nothing for this long is closed before it is handed anywhere. */
export const FIRST_BYTE_TIMEOUT_MS = 10_000;

export interface TlsFront {
  /** The listening server: listen on it, read its address. */
  readonly server: NetServer;
  /**
   * Stops listening, drops connections not yet handed over (the HTTPS server closes its own)
   * with their first-byte timers, and lets go of the listeners. Idempotent.
   */
  destroy(): void;
}

export function tlsFront(secure: HttpsServer): TlsFront {
  const redirect: HttpServer = createHttpServer((req, res) => {
    setSecurityHeaders(res);
    const host = parseHostHeader(req.headers.host);
    if (host === undefined) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('this port speaks HTTPS\n');
      return;
    }
    // Host and port as the client reached us (behind a port mapping they are not ours), both
    // checked; only the path is kept from the request line. No port: the https default.
    const path = (req.url ?? '/').startsWith('/') ? (req.url ?? '/') : '/';
    const port = host.port === undefined ? '' : `:${host.port}`;
    res
      .writeHead(308, {
        location: `https://${host.host}${port}${path}`,
        'cache-control': 'no-store',
        connection: 'close',
      })
      .end();
  });
  const waiting = new Set<Socket>();
  let closed = false;
  const server = createNetServer((socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    waiting.add(socket);
    socket.setTimeout(FIRST_BYTE_TIMEOUT_MS, () => socket.destroy());
    socket.once('close', () => waiting.delete(socket));
    socket.once('error', () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      waiting.delete(socket);
      // What was read goes back; both servers read what is buffered before the wire.
      socket.unshift(chunk);
      if (chunk[0] === TLS_HANDSHAKE) {
        secure.emit('connection', socket);
      } else {
        redirect.emit('connection', socket);
        socket.resume();
      }
    });
  });
  return {
    server,
    destroy() {
      if (closed) return;
      closed = true;
      server.close();
      redirect.closeAllConnections();
      for (const s of waiting) {
        s.setTimeout(0);
        s.destroy();
      }
      waiting.clear();
      redirect.removeAllListeners('request');
    },
  };
}
