/**
 * STUN Binding messages (RFC 8489), the part a public STUN server needs: read a Binding
 * request, answer it with the sender's address as the server saw it (XOR-MAPPED-ADDRESS).
 * Pure functions over bytes; anything that is not a well-formed Binding request comes back
 * as a reason to drop it, never as an exception.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { crc32 } from 'node:zlib';

/** The fixed value in bytes 4..7 of every RFC 5389/8489 message. */
export const MAGIC_COOKIE = 0x2112a442;
/** Type, length, cookie, transaction ID. */
export const HEADER_BYTES = 20;
/**
 * Largest datagram read as STUN. A Binding request is a few dozen bytes (a SOFTWARE
 * attribute adds at most 763); anything bigger is not one.
 */
export const MAX_STUN_MESSAGE_BYTES = 2048;

export const BINDING_REQUEST = 0x0001;
export const BINDING_INDICATION = 0x0011;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  REALM: 0x0014,
  NONCE: 0x0015,
  MESSAGE_INTEGRITY_SHA256: 0x001c,
  PASSWORD_ALGORITHM: 0x001d,
  USERHASH: 0x001e,
  XOR_MAPPED_ADDRESS: 0x0020,
  FINGERPRINT: 0x8028,
} as const;

/**
 * Comprehension-required attributes (type < 0x8000) this server understands. The
 * authentication ones are defined by the base protocol; a server that authenticates nobody
 * reads them and ignores them. Any other comprehension-required attribute is answered with
 * 420 Unknown Attribute (RFC 8489 §6.3.1), e.g. RFC 5780's CHANGE-REQUEST.
 */
const UNDERSTOOD_REQUIRED: ReadonlySet<number> = new Set([
  ATTR.USERNAME,
  ATTR.MESSAGE_INTEGRITY,
  ATTR.REALM,
  ATTR.NONCE,
  ATTR.MESSAGE_INTEGRITY_SHA256,
  ATTR.PASSWORD_ALGORITHM,
  ATTR.USERHASH,
]);

/** XORed into the CRC-32 of a FINGERPRINT attribute ("STUN"). */
const FINGERPRINT_XOR = 0x5354554e;
const FINGERPRINT_ATTR_BYTES = 8;

/** Why a datagram was dropped; the label of `ringswarm_stun_malformed_total`. */
export type MalformedReason =
  | 'short'
  | 'oversize'
  | 'not-stun'
  | 'length'
  | 'cookie'
  | 'type'
  | 'attribute'
  | 'fingerprint';

export type StunRead =
  | {
      kind: 'binding-request';
      /** 12 bytes, echoed in the answer. */
      transactionId: Uint8Array;
      /** Comprehension-required attribute types this server does not understand. */
      unknownRequired: number[];
      /** The request ended with a valid FINGERPRINT, so the answer carries one too. */
      fingerprint: boolean;
    }
  /** A Binding indication (a keep-alive): valid, and never answered. */
  | { kind: 'indication' }
  | { kind: 'malformed'; reason: MalformedReason };

/** A transport address as seen by the server. */
export interface MappedAddress {
  family: 4 | 6;
  /** Dotted IPv4 or textual IPv6 without zone, e.g. `203.0.113.5` or `2001:db8::5`. */
  address: string;
  port: number;
}

const malformed = (reason: MalformedReason): StunRead => ({ kind: 'malformed', reason });
const pad4 = (n: number) => (n + 3) & ~3;

/** Reads one UDP datagram; never throws. */
export function readStunRequest(packet: Uint8Array): StunRead {
  if (packet.length < HEADER_BYTES) return malformed('short');
  if (packet.length > MAX_STUN_MESSAGE_BYTES) return malformed('oversize');
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const type = view.getUint16(0);
  // The two most significant bits of every STUN message are zero (RFC 8489 §5).
  if (type & 0xc000) return malformed('not-stun');
  const length = view.getUint16(2);
  if (length % 4 !== 0 || HEADER_BYTES + length !== packet.length) return malformed('length');
  if (view.getUint32(4) !== MAGIC_COOKIE) return malformed('cookie');
  if (type === BINDING_INDICATION) return { kind: 'indication' };
  if (type !== BINDING_REQUEST) return malformed('type');

  const unknownRequired: number[] = [];
  let fingerprint = false;
  let offset = HEADER_BYTES;
  while (offset < packet.length) {
    if (fingerprint) return malformed('attribute'); // FINGERPRINT must be the last attribute
    if (offset + 4 > packet.length) return malformed('attribute');
    const attrType = view.getUint16(offset);
    const attrLength = view.getUint16(offset + 2);
    const end = offset + 4 + pad4(attrLength);
    if (end > packet.length) return malformed('attribute');
    if (attrType === ATTR.FINGERPRINT) {
      if (attrLength !== 4) return malformed('attribute');
      const expected = (crc32(packet.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0;
      if (view.getUint32(offset + 4) !== expected) return malformed('fingerprint');
      fingerprint = true;
    } else if (attrType < 0x8000 && !UNDERSTOOD_REQUIRED.has(attrType) && !unknownRequired.includes(attrType)) {
      unknownRequired.push(attrType);
    }
    offset = end;
  }
  return { kind: 'binding-request', transactionId: packet.slice(8, HEADER_BYTES), unknownRequired, fingerprint };
}

/** 4 or 16 bytes of an IP address in text form; undefined if it is neither. */
export function addressBytes(address: string): Uint8Array | undefined {
  if (isIPv4(address)) return Uint8Array.from(address.split('.').map(Number));
  if (!isIPv6(address)) return undefined;
  // An IPv4 tail (::ffff:192.0.2.1) becomes the last two groups.
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  let text = address;
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    text = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves[1] ? halves[1].split(':') : [];
  const groups =
    halves.length === 2 ? [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest] : head;
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  groups.forEach((g, i) => {
    view.setUint16(i * 2, Number.parseInt(g, 16));
  });
  return bytes;
}

/** A datagram's source as STUN reports it: IPv4-mapped IPv6 (from a dual-stack socket) as IPv4, no zone. */
export function mappedAddress(address: string, port: number): MappedAddress | undefined {
  const plain = address.split('%')[0] ?? '';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain)?.[1];
  if (v4 !== undefined && isIPv4(v4)) return { family: 4, address: v4, port };
  if (isIPv4(plain)) return { family: 4, address: plain, port };
  if (isIPv6(plain)) return { family: 6, address: plain, port };
  return undefined;
}

interface Attribute {
  type: number;
  value: Uint8Array;
}

function encode(type: number, transactionId: Uint8Array, attributes: Attribute[], fingerprint: boolean): Uint8Array {
  const bodyLength = attributes.reduce((n, a) => n + 4 + pad4(a.value.length), 0);
  const total = HEADER_BYTES + bodyLength + (fingerprint ? FINGERPRINT_ATTR_BYTES : 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, total - HEADER_BYTES);
  view.setUint32(4, MAGIC_COOKIE);
  out.set(transactionId, 8);
  let offset = HEADER_BYTES;
  for (const a of attributes) {
    view.setUint16(offset, a.type);
    view.setUint16(offset + 2, a.value.length);
    out.set(a.value, offset + 4);
    offset += 4 + pad4(a.value.length);
  }
  if (fingerprint) {
    view.setUint16(offset, ATTR.FINGERPRINT);
    view.setUint16(offset + 2, 4);
    view.setUint32(offset + 4, (crc32(out.subarray(0, offset)) ^ FINGERPRINT_XOR) >>> 0);
  }
  return out;
}

/** XOR-MAPPED-ADDRESS: port XOR the cookie's top half, address XOR cookie (+ transaction ID for IPv6). */
function xorMappedAddress(mapped: MappedAddress, transactionId: Uint8Array): Attribute | undefined {
  const raw = addressBytes(mapped.address);
  if (raw === undefined || raw.length !== (mapped.family === 4 ? 4 : 16)) return undefined;
  const mask = new Uint8Array(16);
  new DataView(mask.buffer).setUint32(0, MAGIC_COOKIE);
  mask.set(transactionId, 4);
  const value = new Uint8Array(4 + raw.length);
  const view = new DataView(value.buffer);
  view.setUint8(1, mapped.family === 4 ? 0x01 : 0x02);
  view.setUint16(2, mapped.port ^ (MAGIC_COOKIE >>> 16));
  raw.forEach((b, i) => {
    value[4 + i] = b ^ (mask[i] ?? 0);
  });
  return { type: ATTR.XOR_MAPPED_ADDRESS, value };
}

/** The Binding success response telling the client its address; undefined for an address that is not IP. */
export function bindingSuccess(
  transactionId: Uint8Array,
  mapped: MappedAddress,
  fingerprint: boolean,
): Uint8Array | undefined {
  const attr = xorMappedAddress(mapped, transactionId);
  return attr && encode(BINDING_SUCCESS, transactionId, [attr], fingerprint);
}

/** 420 Unknown Attribute, listing the comprehension-required attributes the request carried. */
export function unknownAttributeError(transactionId: Uint8Array, unknown: number[], fingerprint: boolean): Uint8Array {
  const reason = new TextEncoder().encode('Unknown Attribute');
  const errorCode = new Uint8Array(4 + reason.length);
  errorCode[2] = 4; // class: 4xx
  errorCode[3] = 20; // number: 420
  errorCode.set(reason, 4);
  const list = new Uint8Array(unknown.length * 2);
  unknown.forEach((t, i) => {
    new DataView(list.buffer).setUint16(i * 2, t);
  });
  return encode(
    BINDING_ERROR,
    transactionId,
    [
      { type: ATTR.ERROR_CODE, value: errorCode },
      { type: ATTR.UNKNOWN_ATTRIBUTES, value: list },
    ],
    fingerprint,
  );
}
