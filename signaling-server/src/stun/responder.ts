/**
 * The built-in STUN server: one UDP socket answering Binding requests, so a peer behind an
 * ordinary NAT learns its public address (a server-reflexive candidate) from the same
 * machine that serves the page. Without a `host` it listens on all interfaces, IPv4 and
 * IPv6 on one dual-stack socket (IPv4 only where the system has no IPv6). Malformed input is
 * dropped and counted; no datagram can make it throw.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from 'pino';
import {
  bindingSuccess,
  MAX_STUN_MESSAGE_BYTES,
  mappedAddress,
  readStunRequest,
  unknownAttributeError,
} from './message.js';

/** RFC 8489's default port for STUN over UDP. */
export const DEFAULT_STUN_PORT = 3478;

export interface StunResponderOptions {
  /** UDP port; 0 lets the system pick a free one (tests). */
  port: number;
  /** Address to bind; default all interfaces. */
  host?: string | undefined;
  logger: Logger;
}

/** What the responder saw; /metrics reads it at scrape time. */
export class StunCounter {
  /** Binding requests answered (success or 420), by the family of the sender's address. */
  readonly requests: Record<string, number> = {};
  /** Datagrams dropped, by reason (see MalformedReason). */
  readonly malformed: Record<string, number> = {};

  addRequest(family: 'ipv4' | 'ipv6'): void {
    this.requests[family] = (this.requests[family] ?? 0) + 1;
  }

  addMalformed(reason: string): void {
    this.malformed[reason] = (this.malformed[reason] ?? 0) + 1;
  }
}

/** Error code when the UDP port cannot be bound. */
export const ERR_STUN_BIND = 'ERR_STUN_BIND';

export class StunBindError extends Error {
  override name = 'StunBindError';
  readonly code = ERR_STUN_BIND;
}

function bind(type: 'udp4' | 'udp6', port: number, host: string | undefined): Promise<Socket> {
  const socket = createSocket({ type, ipv6Only: false });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', fail);
    socket.bind({ port, ...(host !== undefined ? { address: host } : {}) }, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

export class StunResponder {
  readonly counter = new StunCounter();
  private destroyed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly logger: Logger,
  ) {
    socket.on('message', (packet, from) => this.onMessage(packet, from.address, from.port));
    // Errors on an unconnected UDP socket (e.g. ICMP-triggered) must not end the process.
    socket.on('error', (err) => this.logger.warn({ err: err.message }, 'stun socket error'));
  }

  /** Binds the port and starts answering; rejects with a {@link StunBindError} if the port is taken. */
  static async listen(options: StunResponderOptions): Promise<StunResponder> {
    const { port, host, logger } = options;
    let socket: Socket;
    try {
      if (host === undefined) {
        try {
          socket = await bind('udp6', port, '::');
        } catch (err) {
          // No IPv6 on this system: IPv4 only.
          if ((err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
          socket = await bind('udp4', port, '0.0.0.0');
        }
      } else {
        socket = await bind(isIPv6(host) ? 'udp6' : 'udp4', port, host);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      const hint =
        code === 'EADDRINUSE'
          ? ' (another STUN or TURN server such as coturn?); pick another with --stun-port N, or 0 to turn STUN off'
          : '';
      throw new StunBindError(`cannot bind UDP port ${port} for STUN: ${code}${hint}`);
    }
    return new StunResponder(socket, logger);
  }

  /** The bound UDP port. */
  get port(): number {
    return this.socket.address().port;
  }

  private onMessage(packet: Buffer, address: string, port: number): void {
    if (this.destroyed) return;
    // The kernel hands over whole datagrams; a huge one is dropped before it is parsed.
    if (packet.length > MAX_STUN_MESSAGE_BYTES) {
      this.counter.addMalformed('oversize');
      return;
    }
    const read = readStunRequest(packet);
    if (read.kind === 'malformed') {
      this.counter.addMalformed(read.reason);
      return;
    }
    if (read.kind === 'indication') return;
    const mapped = mappedAddress(address, port);
    if (!mapped) return;
    const answer =
      read.unknownRequired.length > 0
        ? unknownAttributeError(read.transactionId, read.unknownRequired, read.fingerprint)
        : bindingSuccess(read.transactionId, mapped, read.fingerprint);
    if (!answer) return;
    this.counter.addRequest(mapped.family === 4 ? 'ipv4' : 'ipv6');
    this.logger.debug({ address: mapped.address, port, unknown: read.unknownRequired }, 'stun binding request');
    this.socket.send(answer, port, address, (err) => {
      if (err) this.logger.debug({ err: err.message }, 'stun answer not sent');
    });
  }

  /** Stops answering and frees the port. Idempotent. */
  close(): Promise<void> {
    this.destroyed = true;
    this.closing ??= new Promise((resolve) => this.socket.close(() => resolve()));
    return this.closing;
  }
}
