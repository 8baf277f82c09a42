/**
 * A STUN client for tests, written from RFC 8489 independently of the server's codec, so a
 * test checks the server against the RFC and not against itself.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { crc32 } from 'node:zlib';

export const COOKIE = 0x2112a442;

export interface Attr {
  type: number;
  value: Buffer;
}

/** A STUN message: 20-byte header, then attributes padded to 4 bytes; optionally a FINGERPRINT. */
export function stunMessage(
  type: number,
  transactionId: Buffer = randomBytes(12),
  attrs: Attr[] = [],
  fingerprint = false,
): Buffer {
  const parts = attrs.map((a) => {
    const out = Buffer.alloc(4 + Math.ceil(a.value.length / 4) * 4);
    out.writeUInt16BE(a.type, 0);
    out.writeUInt16BE(a.value.length, 2);
    a.value.copy(out, 4);
    return out;
  });
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length + (fingerprint ? 8 : 0), 2);
  header.writeUInt32BE(COOKIE, 4);
  transactionId.copy(header, 8);
  const message = Buffer.concat([header, body]);
  if (!fingerprint) return message;
  const fp = Buffer.alloc(8);
  fp.writeUInt16BE(0x8028, 0);
  fp.writeUInt16BE(4, 2);
  fp.writeUInt32BE((crc32(message) ^ 0x5354554e) >>> 0, 4);
  return Buffer.concat([message, fp]);
}

export interface StunAnswer {
  type: number;
  transactionId: Buffer;
  attrs: Attr[];
  /** The FINGERPRINT attribute was present and correct; undefined when absent. */
  fingerprintOk: boolean | undefined;
}

export function parseAnswer(packet: Buffer): StunAnswer {
  if (packet.length < 20 || packet.readUInt32BE(4) !== COOKIE) throw new Error('not a STUN message');
  const length = packet.readUInt16BE(2);
  if (20 + length !== packet.length) throw new Error(`length field ${length} does not match ${packet.length - 20}`);
  const attrs: Attr[] = [];
  let fingerprintOk: boolean | undefined;
  for (let at = 20; at < packet.length; ) {
    const type = packet.readUInt16BE(at);
    const len = packet.readUInt16BE(at + 2);
    if (type === 0x8028) {
      fingerprintOk = packet.readUInt32BE(at + 4) === (crc32(packet.subarray(0, at)) ^ 0x5354554e) >>> 0;
    }
    attrs.push({ type, value: packet.subarray(at + 4, at + 4 + len) });
    at += 4 + Math.ceil(len / 4) * 4;
  }
  return { type: packet.readUInt16BE(0), transactionId: packet.subarray(8, 20), attrs, fingerprintOk };
}

/** Decodes XOR-MAPPED-ADDRESS (0x0020) into text address and port. */
export function xorMapped(answer: StunAnswer): { family: 'IPv4' | 'IPv6'; address: string; port: number } {
  const attr = answer.attrs.find((a) => a.type === 0x0020);
  if (!attr) throw new Error('no XOR-MAPPED-ADDRESS');
  const family = attr.value[1];
  const port = attr.value.readUInt16BE(2) ^ (COOKIE >>> 16);
  const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), answer.transactionId]);
  const raw = Buffer.from(attr.value.subarray(4).map((b, i) => b ^ mask[i]!));
  if (family === 0x01) return { family: 'IPv4', address: [...raw].join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(raw.readUInt16BE(i).toString(16));
  // Compressed the way URLs print it (WHATWG URL serializer), e.g. ::1.
  const address = new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
  return { family: 'IPv6', address, port };
}

/** A UDP socket bound on `host`, to talk to the server from. */
export function udpSocket(host: string): Promise<Socket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, host, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** Sends `packet` and resolves with the next datagram from the server, or undefined after `ms`. */
export function ask(
  socket: Socket,
  host: string,
  port: number,
  packet: Buffer,
  ms = 2_000,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(undefined);
    }, ms);
    const onMessage = (message: Buffer) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(message);
    };
    socket.on('message', onMessage);
    socket.send(packet, port, host);
  });
}
