/**
 * The peer wire codec: binary frames on the PeerLink data channel.
 * The first byte is the message type; types 0x10-0x1f belong to the swarm protocol (the
 * ranges are registered in `protocol/frames.ts`). Every field is
 * at a named offset, and decoding rejects truncated, oversized or trailing bytes with
 * `ERR_BAD_FRAME`. Checks that need the manifest live in {@link checkBlock}.
 */

import { CAPABILITY_NONCE_BYTES, CAPABILITY_PROOF_BYTES } from '../protocol/capability.js';
import { ErrorCode, RingswarmError } from '../protocol/errors.js';
import { SWARM_HANDSHAKE } from '../protocol/frames.js';
import { fromHex, toHex } from '../util/bytes.js';
import { MAX_MANIFEST_BYTES, type Manifest, pieceCount, pieceSize } from './manifest.js';

/**
 * 2: the handshake carries the discovery key and a nonce, and a capability proof follows it.
 * 3: a seeder may refuse a request (`reject`): that piece is to be had from the peer it went to.
 */
export const WIRE_VERSION = 3;
/** Size of the blocks a piece is requested in. */
export const BLOCK_LENGTH = 16 * 1024;
/** The largest block a peer may request or send. */
export const MAX_BLOCK_LENGTH = 128 * 1024;
/** Size of the chunks the manifest is sent in. */
export const METADATA_CHUNK_LENGTH = 16 * 1024;
export const MAX_METADATA_CHUNKS = Math.ceil(MAX_MANIFEST_BYTES / METADATA_CHUNK_LENGTH);

export const MessageType = {
  HANDSHAKE: SWARM_HANDSHAKE.type,
  BITFIELD: 0x11,
  HAVE: 0x12,
  INTERESTED: 0x13,
  NOT_INTERESTED: 0x14,
  CHOKE: 0x15,
  UNCHOKE: 0x16,
  REQUEST: 0x17,
  PIECE: 0x18,
  CANCEL: 0x19,
  METADATA_REQUEST: 0x1a,
  METADATA_DATA: 0x1b,
  METADATA_REJECT: 0x1c,
  CAPABILITY: 0x1d,
  REJECT: 0x1e,
} as const;

export type WireMessage =
  | { type: 'handshake'; version: number; discoveryKey: string; peerId: string; nonce: Uint8Array }
  /** Proof that the sender holds the infohash, bound to this link (protocol/capability.ts). */
  | { type: 'capability'; proof: Uint8Array }
  | { type: 'bitfield'; bits: Uint8Array }
  | { type: 'have'; index: number }
  | { type: 'interested' | 'not-interested' | 'choke' | 'unchoke' }
  /** `reject`: the sender will not serve that request now (see `Uploader`); ask another peer for it. */
  | { type: 'request' | 'cancel' | 'reject'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; data: Uint8Array }
  | { type: 'metadata-request' | 'metadata-reject'; chunk: number }
  | { type: 'metadata-data'; chunk: number; total: number; data: Uint8Array };

// Named offsets. Every frame: [0] type.
const TYPE = 0;
const BODY = 1;
// handshake: [1] version, [2..34) discovery key, [34..54) peer ID, [54..86) nonce
// (the layout is registered in protocol/frames.ts, so the link pool can read it unparsed)
const HS_VERSION = SWARM_HANDSHAKE.versionOffset;
const HS_DISCOVERY_KEY = SWARM_HANDSHAKE.discoveryKeyOffset;
const HS_PEER_ID = SWARM_HANDSHAKE.peerIdOffset;
const HS_NONCE = SWARM_HANDSHAKE.nonceOffset;
const HS_LENGTH = SWARM_HANDSHAKE.length;
// capability: [1..33) proof
const CAP_PROOF = BODY;
const CAP_LENGTH = CAP_PROOF + CAPABILITY_PROOF_BYTES;
// have: [1..5) index; request/cancel/reject: [1..5) index, [5..9) begin, [9..13) length
const U32 = 4;
const BLOCK_HEADER = BODY + 3 * U32;
// piece: [1..5) index, [5..9) begin, [9..) data
const PIECE_HEADER = BODY + 2 * U32;
// metadata-data: [1..5) chunk, [5..9) total, [9..) data
const METADATA_HEADER = BODY + 2 * U32;

const SIMPLE: Record<string, number> = {
  interested: MessageType.INTERESTED,
  'not-interested': MessageType.NOT_INTERESTED,
  choke: MessageType.CHOKE,
  unchoke: MessageType.UNCHOKE,
};

const BLOCK_TYPES = {
  request: MessageType.REQUEST,
  cancel: MessageType.CANCEL,
  reject: MessageType.REJECT,
} as const;

function frame(type: number, bodyLength: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(BODY + bodyLength);
  bytes[TYPE] = type;
  return { bytes, view: new DataView(bytes.buffer) };
}

export function encodeMessage(msg: WireMessage): Uint8Array {
  switch (msg.type) {
    case 'handshake': {
      const { bytes } = frame(MessageType.HANDSHAKE, HS_LENGTH - BODY);
      const discoveryKey = fromHex(msg.discoveryKey);
      const peerId = fromHex(msg.peerId);
      if (discoveryKey.length !== HS_PEER_ID - HS_DISCOVERY_KEY || peerId.length !== HS_NONCE - HS_PEER_ID) {
        throw new RangeError('handshake: the discovery key is 32 bytes, the peer ID 20');
      }
      if (msg.nonce.length !== CAPABILITY_NONCE_BYTES) throw new RangeError('handshake: bad nonce length');
      bytes[HS_VERSION] = msg.version;
      bytes.set(discoveryKey, HS_DISCOVERY_KEY);
      bytes.set(peerId, HS_PEER_ID);
      bytes.set(msg.nonce, HS_NONCE);
      return bytes;
    }
    case 'capability': {
      if (msg.proof.length !== CAPABILITY_PROOF_BYTES) throw new RangeError('capability: bad proof length');
      const { bytes } = frame(MessageType.CAPABILITY, CAP_LENGTH - BODY);
      bytes.set(msg.proof, CAP_PROOF);
      return bytes;
    }
    case 'bitfield': {
      const { bytes } = frame(MessageType.BITFIELD, msg.bits.length);
      bytes.set(msg.bits, BODY);
      return bytes;
    }
    case 'have': {
      const { bytes, view } = frame(MessageType.HAVE, U32);
      view.setUint32(BODY, msg.index);
      return bytes;
    }
    case 'request':
    case 'cancel':
    case 'reject': {
      const { bytes, view } = frame(BLOCK_TYPES[msg.type], 3 * U32);
      view.setUint32(BODY, msg.index);
      view.setUint32(BODY + U32, msg.begin);
      view.setUint32(BODY + 2 * U32, msg.length);
      return bytes;
    }
    case 'piece': {
      const { bytes, view } = frame(MessageType.PIECE, PIECE_HEADER - BODY + msg.data.length);
      view.setUint32(BODY, msg.index);
      view.setUint32(BODY + U32, msg.begin);
      bytes.set(msg.data, PIECE_HEADER);
      return bytes;
    }
    case 'metadata-request':
    case 'metadata-reject': {
      const type = msg.type === 'metadata-request' ? MessageType.METADATA_REQUEST : MessageType.METADATA_REJECT;
      const { bytes, view } = frame(type, U32);
      view.setUint32(BODY, msg.chunk);
      return bytes;
    }
    case 'metadata-data': {
      const { bytes, view } = frame(MessageType.METADATA_DATA, METADATA_HEADER - BODY + msg.data.length);
      view.setUint32(BODY, msg.chunk);
      view.setUint32(BODY + U32, msg.total);
      bytes.set(msg.data, METADATA_HEADER);
      return bytes;
    }
    default: {
      const type = SIMPLE[msg.type];
      if (type === undefined) throw new RangeError(`unknown message type ${(msg as { type: string }).type}`);
      return frame(type, 0).bytes;
    }
  }
}

function bad(message: string): never {
  throw new RingswarmError(ErrorCode.BAD_FRAME, message);
}

function expectLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) bad(`${what} frame must be ${length} bytes, got ${bytes.length}`);
}

/** Decodes one frame; throws `ERR_BAD_FRAME` on any malformed input. Payload views alias `bytes`. */
export function decodeMessage(bytes: Uint8Array): WireMessage {
  if (bytes.length < 1) bad('empty frame');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (offset: number) => view.getUint32(offset);
  switch (bytes[TYPE]) {
    case MessageType.HANDSHAKE:
      expectLength(bytes, HS_LENGTH, 'handshake');
      return {
        type: 'handshake',
        version: bytes[HS_VERSION]!,
        discoveryKey: toHex(bytes.subarray(HS_DISCOVERY_KEY, HS_PEER_ID)),
        peerId: toHex(bytes.subarray(HS_PEER_ID, HS_NONCE)),
        nonce: bytes.subarray(HS_NONCE, HS_LENGTH),
      };
    case MessageType.CAPABILITY:
      expectLength(bytes, CAP_LENGTH, 'capability');
      return { type: 'capability', proof: bytes.subarray(CAP_PROOF, CAP_LENGTH) };
    case MessageType.BITFIELD:
      if (bytes.length > BODY + MAX_BLOCK_LENGTH) bad('bitfield too long');
      return { type: 'bitfield', bits: bytes.subarray(BODY) };
    case MessageType.HAVE:
      expectLength(bytes, BODY + U32, 'have');
      return { type: 'have', index: u32(BODY) };
    case MessageType.INTERESTED:
    case MessageType.NOT_INTERESTED:
    case MessageType.CHOKE:
    case MessageType.UNCHOKE: {
      expectLength(bytes, BODY, 'state');
      const type = Object.keys(SIMPLE).find((k) => SIMPLE[k] === bytes[TYPE]) as 'interested';
      return { type };
    }
    case MessageType.REQUEST:
    case MessageType.CANCEL:
    case MessageType.REJECT: {
      expectLength(bytes, BLOCK_HEADER, 'request');
      const length = u32(BODY + 2 * U32);
      if (length === 0 || length > MAX_BLOCK_LENGTH) bad(`block length ${length} out of range`);
      const type =
        bytes[TYPE] === MessageType.REQUEST ? 'request' : bytes[TYPE] === MessageType.CANCEL ? 'cancel' : 'reject';
      return { type, index: u32(BODY), begin: u32(BODY + U32), length };
    }
    case MessageType.PIECE: {
      const dataLength = bytes.length - PIECE_HEADER;
      if (dataLength < 1 || dataLength > MAX_BLOCK_LENGTH) bad(`piece frame of ${bytes.length} bytes out of range`);
      return { type: 'piece', index: u32(BODY), begin: u32(BODY + U32), data: bytes.subarray(PIECE_HEADER) };
    }
    case MessageType.METADATA_REQUEST:
    case MessageType.METADATA_REJECT: {
      expectLength(bytes, BODY + U32, 'metadata');
      const chunk = u32(BODY);
      if (chunk >= MAX_METADATA_CHUNKS) bad(`metadata chunk ${chunk} out of range`);
      const type = bytes[TYPE] === MessageType.METADATA_REQUEST ? 'metadata-request' : 'metadata-reject';
      return { type, chunk };
    }
    case MessageType.METADATA_DATA: {
      if (bytes.length < METADATA_HEADER + 1) bad('metadata data frame truncated');
      const chunk = u32(BODY);
      const total = u32(BODY + U32);
      const data = bytes.subarray(METADATA_HEADER);
      if (total < 1 || total > MAX_MANIFEST_BYTES) bad(`metadata size ${total} out of range`);
      const chunks = Math.ceil(total / METADATA_CHUNK_LENGTH);
      if (chunk >= chunks) bad(`metadata chunk ${chunk} out of range`);
      const expected = Math.min(METADATA_CHUNK_LENGTH, total - chunk * METADATA_CHUNK_LENGTH);
      if (data.length !== expected) bad(`metadata chunk ${chunk} must be ${expected} bytes, got ${data.length}`);
      return { type: 'metadata-data', chunk, total, data };
    }
    default:
      return bad(`unknown frame type 0x${(bytes[TYPE] ?? 0).toString(16)}`);
  }
}

/** Checks a block address against the manifest; throws `ERR_BAD_FRAME` when out of range. */
export function checkBlock(manifest: Manifest, index: number, begin: number, length: number): void {
  if (index >= pieceCount(manifest.length, manifest.pieceLength)) bad(`piece ${index} out of range`);
  if (begin + length > pieceSize(manifest, index)) bad(`block ${begin}+${length} beyond piece ${index}`);
}
