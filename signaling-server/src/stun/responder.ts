/**
 * The built-in STUN server: UDP sockets answering Binding requests, so a peer behind an
 * ordinary NAT learns its public address (a server-reflexive candidate) from the same
 * machine that serves the page. Without a `host` (or with `::` / `0.0.0.0`) it binds one
 * socket per address the machine can be reached at (see ../addresses.ts) plus the loopback
 * ones, as coturn does, not one wildcard socket: an answer then always leaves from the
 * address the request was sent to, where a wildcard socket lets the kernel pick the source
 * (another interface, an IPv6 temporary address) and the browser drops the answer. Addresses
 * that appear after the start are not served. With a `host`, one socket there. Malformed
 * input is dropped and counted; no datagram can make it throw.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import { type InterfaceList, reachableAddresses } from '../addresses.js';
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
  /** Address to bind; default (or `::`, `0.0.0.0`) every reachable address and the loopback. */
  host?: string | undefined;
  logger: Logger;
  /** The machine's interfaces, read once at the start; default `os.networkInterfaces`. */
  interfaces?: () => InterfaceList;
  /** More addresses to answer on when binding all interfaces (tests: a second loopback address). */
  extraAddresses?: readonly string[];
}

/** The addresses to bind one socket each on, for a server bound to `host`. */
export function stunAddresses(
  host: string | undefined,
  interfaces: InterfaceList,
  extra: readonly string[] = [],
): string[] {
  if (host !== undefined && host !== '' && host !== '::' && host !== '0.0.0.0') return [host];
  const loopback = host === '0.0.0.0' ? ['127.0.0.1'] : ['127.0.0.1', '::1'];
  const all = [...loopback, ...extra, ...reachableAddresses(interfaces, host)];
  return [...new Set(all.map((a) => a.toLowerCase()))].filter((a) => host !== '0.0.0.0' || isIPv4(a));
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
  constructor(
    message: string,
    /** The port was taken (EADDRINUSE). */
    readonly inUse = false,
  ) {
    super(message);
  }
}

function bind(address: string, port: number): Promise<Socket> {
  const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', ipv6Only: isIPv6(address) });
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', fail);
    socket.bind({ port, address }, () => {
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

/** Bind errors that mean "this address is not usable here" (no IPv6, an address gone or not ready yet). */
const SKIPPABLE = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL']);

export class StunResponder {
  readonly counter = new StunCounter();
  private destroyed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly sockets: readonly Socket[],
    private readonly logger: Logger,
  ) {
    for (const socket of sockets) {
      socket.on('message', (packet, from) => this.onMessage(socket, packet, from.address, from.port));
      // Errors on an unconnected UDP socket (e.g. ICMP-triggered) must not end the process.
      socket.on('error', (err) => this.logger.warn({ err: err.message }, 'stun socket error'));
    }
  }

  /**
   * Binds the port on every address (see {@link stunAddresses}) and starts answering; rejects
   * with a {@link StunBindError} if the port is taken or no address can be bound.
   */
  static async listen(options: StunResponderOptions): Promise<StunResponder> {
    // With port 0 the port the system picks on the first address may be taken on another: pick again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await StunResponder.bindAll(options);
      } catch (err) {
        if (!(err instanceof StunBindError && err.inUse && options.port === 0 && attempt < 5)) throw err;
      }
    }
  }

  private static async bindAll(options: StunResponderOptions): Promise<StunResponder> {
    const { host, logger } = options;
    let port = options.port;
    const addresses = stunAddresses(host, (options.interfaces ?? networkInterfaces)(), options.extraAddresses);
    const single = addresses.length === 1 && addresses[0] === host;
    const sockets: Socket[] = [];
    try {
      for (const address of addresses) {
        try {
          const socket = await bind(address, port);
          sockets.push(socket);
          // With port 0 the first socket picks it; the others take the same one.
          port = socket.address().port;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? '';
          if (single || !SKIPPABLE.has(code)) throw err;
          logger.debug({ address, code }, 'stun: address not bound');
        }
      }
      if (sockets.length === 0) throw Object.assign(new Error('no address'), { code: 'EADDRNOTAVAIL' });
    } catch (err) {
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
      const hint =
        code === 'EADDRINUSE'
          ? ' (another STUN or TURN server such as coturn?); pick another with --stun-port N, or 0 to turn STUN off'
          : '';
      throw new StunBindError(`cannot bind UDP port ${options.port} for STUN: ${code}${hint}`, code === 'EADDRINUSE');
    }
    return new StunResponder(sockets, logger);
  }

  /** The addresses answered on, in bind order. */
  get addresses(): string[] {
    return this.sockets.map((s) => s.address().address);
  }

  /** The bound UDP port. */
  get port(): number {
    return this.sockets[0]?.address().port ?? 0;
  }

  private onMessage(socket: Socket, packet: Buffer, address: string, port: number): void {
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
    // From the socket it came in on: the source address is the one the request was sent to.
    socket.send(answer, port, address, (err) => {
      if (err) this.logger.debug({ err: err.message }, 'stun answer not sent');
    });
  }

  /** Stops answering and frees the port on every address; resolves once all are closed. Idempotent. */
  destroy(): Promise<void> {
    this.destroyed = true;
    this.closing ??= Promise.all(
      this.sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.close(() => {
              socket.removeAllListeners();
              resolve();
            });
          }),
      ),
    ).then(() => undefined);
    return this.closing;
  }
}
