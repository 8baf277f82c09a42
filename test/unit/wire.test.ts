import {
  checkBlock,
  createManifest,
  decodeMessage,
  encodeMessage,
  isSwarmFrame,
  MAX_BLOCK_LENGTH,
  MAX_MANIFEST_BYTES,
  MAX_METADATA_CHUNKS,
  METADATA_CHUNK_LENGTH,
  MessageType,
  MIN_PIECE_LENGTH,
  type WireMessage,
} from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../helpers/error-code.js';

const BAD_FRAME = 'ERR_BAD_FRAME';
const U32_MAX = 0xffff_ffff;

/** The code decoding fails with, or undefined when it succeeds. */
const decodeError = (bytes: Uint8Array): string | undefined => errorCode(() => decodeMessage(bytes));

const u32 = fc.integer({ min: 0, max: U32_MAX });
const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
/** Bytes of a length in [min, max]; large payloads are filled from a seed, which is much faster to generate. */
const data = (min: number, max: number) =>
  max <= 64
    ? fc.uint8Array({ minLength: min, maxLength: max })
    : fc.tuple(fc.integer({ min, max }), fc.integer()).map(([length, seed]) => {
        const out = new Uint8Array(length);
        let x = seed | 1;
        for (let i = 0; i < length; i++) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          out[i] = x & 0xff;
        }
        return out;
      });

const handshake = fc.record({
  type: fc.constant('handshake' as const),
  version: fc.integer({ min: 0, max: 255 }),
  discoveryKey: hex(32),
  peerId: hex(20),
  nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});
const capability = fc.record({
  type: fc.constant('capability' as const),
  proof: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});
const bitfield = fc.record({ type: fc.constant('bitfield' as const), bits: data(0, 300) });
const have = fc.record({ type: fc.constant('have' as const), index: u32 });
const state = fc.record({ type: fc.constantFrom('interested', 'not-interested', 'choke', 'unchoke') });
const block = fc.record({
  type: fc.constantFrom('request', 'cancel', 'reject'),
  index: u32,
  begin: u32,
  length: fc.integer({ min: 1, max: MAX_BLOCK_LENGTH }),
});
const piece = fc.record({
  type: fc.constant('piece' as const),
  index: u32,
  begin: u32,
  // Mostly small payloads, sometimes the largest legal one.
  data: fc.oneof(
    { arbitrary: data(1, 512), weight: 9 },
    { arbitrary: data(MAX_BLOCK_LENGTH, MAX_BLOCK_LENGTH), weight: 1 },
  ),
});
const metadataChunk = fc.record({
  type: fc.constantFrom('metadata-request', 'metadata-reject'),
  chunk: fc.integer({ min: 0, max: MAX_METADATA_CHUNKS - 1 }),
});
/** A chunk of a manifest of `total` bytes: every chunk is full except the last. */
const metadataData = fc
  .record({
    total: fc.oneof(fc.integer({ min: 1, max: 3 * METADATA_CHUNK_LENGTH }), fc.constant(MAX_MANIFEST_BYTES)),
    pick: fc.nat(),
  })
  .chain(({ total, pick }) => {
    const chunks = Math.ceil(total / METADATA_CHUNK_LENGTH);
    const chunk = pick % chunks;
    const size = Math.min(METADATA_CHUNK_LENGTH, total - chunk * METADATA_CHUNK_LENGTH);
    return data(size, size).map((bytes) => ({ type: 'metadata-data' as const, chunk, total, data: bytes }));
  });

const anyMessage: fc.Arbitrary<WireMessage> = fc.oneof(
  handshake,
  capability,
  bitfield,
  have,
  state,
  block,
  piece,
  metadataChunk,
  metadataData,
);
/** Messages whose frame length does not depend on a payload. */
const fixedSize: fc.Arbitrary<WireMessage> = fc.oneof(handshake, capability, have, state, block, metadataChunk);

/** Byte fields as tagged hex: deep equality on large typed arrays is slow. */
function comparable(msg: WireMessage): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(msg).map(([k, v]) => [k, v instanceof Uint8Array ? `bytes:${Buffer.from(v).toString('hex')}` : v]),
  );
}

function frameOf(type: number, ...u32s: number[]): Uint8Array {
  const bytes = new Uint8Array(1 + 4 * u32s.length);
  bytes[0] = type;
  const view = new DataView(bytes.buffer);
  u32s.forEach((v, i) => {
    view.setUint32(1 + 4 * i, v);
  });
  return bytes;
}

function withPayload(header: Uint8Array, payloadLength: number): Uint8Array {
  const bytes = new Uint8Array(header.length + payloadLength);
  bytes.set(header);
  return bytes;
}

describe('wire codec', () => {
  it('round-trips every message type', () => {
    fc.assert(
      fc.property(anyMessage, (msg) => {
        expect(comparable(decodeMessage(encodeMessage(msg)))).toEqual(comparable(msg));
      }),
      { numRuns: 500 },
    );
  });

  it('decodes a frame that sits at an offset inside a larger buffer', () => {
    fc.assert(
      fc.property(anyMessage, fc.integer({ min: 1, max: 7 }), (msg, offset) => {
        const encoded = encodeMessage(msg);
        const buffer = new Uint8Array(offset + encoded.length + 3).fill(0xee);
        buffer.set(encoded, offset);
        expect(comparable(decodeMessage(buffer.subarray(offset, offset + encoded.length)))).toEqual(comparable(msg));
      }),
    );
  });

  it('puts fields at their documented offsets', () => {
    const request = encodeMessage({ type: 'request', index: 0x01020304, begin: 0x05060708, length: 0x4000 });
    expect([...request]).toEqual([0x17, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x40, 0]);
    const nonce = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
    const hs = encodeMessage({
      type: 'handshake',
      version: 2,
      discoveryKey: 'ab'.repeat(32),
      peerId: 'cd'.repeat(20),
      nonce,
    });
    expect(hs.length).toBe(86);
    expect([hs[0], hs[1], hs[2], hs[33], hs[34], hs[53], hs[54], hs[85]]).toEqual([
      0x10, 2, 0xab, 0xab, 0xcd, 0xcd, 0x40, 0x5f,
    ]);
    const proof = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const cap = encodeMessage({ type: 'capability', proof });
    expect([...cap]).toEqual([0x1d, ...proof]);
  });

  it('rejects an empty frame', () => {
    expect(decodeError(new Uint8Array(0))).toBe(BAD_FRAME);
  });

  it('rejects unknown type bytes', () => {
    const known = new Set<number>(Object.values(MessageType));
    for (let type = 0; type < 256; type++) {
      if (known.has(type)) continue;
      expect(decodeError(new Uint8Array([type]))).toBe(BAD_FRAME);
      expect(decodeError(frameOf(type, 0, 0, 1))).toBe(BAD_FRAME);
    }
  });

  it('rejects every strict prefix of a fixed-size or metadata-data frame', () => {
    fc.assert(
      fc.property(fc.oneof(fixedSize, metadataData), fc.nat(), (msg, cut) => {
        const encoded = encodeMessage(msg);
        expect(decodeError(encoded.subarray(0, cut % encoded.length))).toBe(BAD_FRAME);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a piece frame cut inside its header', () => {
    fc.assert(
      fc.property(piece, fc.integer({ min: 0, max: 9 }), (msg, cut) => {
        expect(decodeError(encodeMessage(msg).subarray(0, cut))).toBe(BAD_FRAME);
      }),
    );
  });

  it('rejects trailing bytes after a fixed-size or metadata-data frame', () => {
    fc.assert(
      fc.property(fc.oneof(fixedSize, metadataData), data(1, 16), (msg, extra) => {
        const encoded = encodeMessage(msg);
        expect(decodeError(Uint8Array.from([...encoded, ...extra]))).toBe(BAD_FRAME);
      }),
    );
  });

  it('rejects a request, cancel or reject for 0 bytes or more than MAX_BLOCK_LENGTH', () => {
    for (const type of [MessageType.REQUEST, MessageType.CANCEL, MessageType.REJECT]) {
      expect(decodeError(frameOf(type, 0, 0, 0))).toBe(BAD_FRAME);
      expect(decodeError(frameOf(type, 0, 0, MAX_BLOCK_LENGTH + 1))).toBe(BAD_FRAME);
      expect(decodeError(frameOf(type, 0, 0, U32_MAX))).toBe(BAD_FRAME);
      expect(decodeError(frameOf(type, 0, 0, MAX_BLOCK_LENGTH))).toBeUndefined();
      expect(decodeError(frameOf(type, 0, 0, 1))).toBeUndefined();
    }
  });

  it('rejects an empty or oversized piece', () => {
    const header = frameOf(MessageType.PIECE, 0, 0);
    expect(decodeError(header)).toBe(BAD_FRAME);
    expect(decodeError(withPayload(header, MAX_BLOCK_LENGTH + 1))).toBe(BAD_FRAME);
    expect(decodeError(withPayload(header, MAX_BLOCK_LENGTH))).toBeUndefined();
  });

  it('rejects a bitfield longer than MAX_BLOCK_LENGTH bytes', () => {
    const header = new Uint8Array([MessageType.BITFIELD]);
    expect(decodeError(withPayload(header, MAX_BLOCK_LENGTH + 1))).toBe(BAD_FRAME);
    expect(decodeError(withPayload(header, MAX_BLOCK_LENGTH))).toBeUndefined();
  });

  it('rejects a metadata request or reject for a chunk past the largest manifest', () => {
    for (const type of [MessageType.METADATA_REQUEST, MessageType.METADATA_REJECT]) {
      expect(decodeError(frameOf(type, MAX_METADATA_CHUNKS))).toBe(BAD_FRAME);
      expect(decodeError(frameOf(type, U32_MAX))).toBe(BAD_FRAME);
      expect(decodeError(frameOf(type, MAX_METADATA_CHUNKS - 1))).toBeUndefined();
    }
  });

  it('rejects metadata data with an impossible size or chunk', () => {
    const chunkFrame = (chunk: number, total: number, size: number) =>
      withPayload(frameOf(MessageType.METADATA_DATA, chunk, total), size);
    const total = 2 * METADATA_CHUNK_LENGTH + 100;

    expect(decodeError(chunkFrame(0, total, METADATA_CHUNK_LENGTH))).toBeUndefined();
    expect(decodeError(chunkFrame(2, total, 100))).toBeUndefined();

    expect(decodeError(chunkFrame(3, total, 100))).toBe(BAD_FRAME); // past the last chunk
    expect(decodeError(chunkFrame(0, 0, 1))).toBe(BAD_FRAME); // empty manifest
    expect(decodeError(chunkFrame(0, MAX_MANIFEST_BYTES + 1, METADATA_CHUNK_LENGTH))).toBe(BAD_FRAME);
    expect(decodeError(chunkFrame(0, total, METADATA_CHUNK_LENGTH - 1))).toBe(BAD_FRAME); // short middle chunk
    expect(decodeError(chunkFrame(0, total, METADATA_CHUNK_LENGTH + 1))).toBe(BAD_FRAME);
    expect(decodeError(chunkFrame(2, total, 99))).toBe(BAD_FRAME); // short last chunk
    expect(decodeError(chunkFrame(2, total, 101))).toBe(BAD_FRAME);
    expect(decodeError(chunkFrame(0, 10, 0))).toBe(BAD_FRAME);
  });
});

describe('checkBlock', () => {
  // 3 pieces of 16 KiB, the last one 7232 bytes.
  const length = 2 * MIN_PIECE_LENGTH + 7232;
  const manifest = createManifest({
    name: 'f',
    files: [{ path: 'f', length }],
    pieceLength: MIN_PIECE_LENGTH,
    pieces: ['0', '1', '2'].map((c) => c.repeat(64)),
  });
  const blockError = (index: number, begin: number, len: number) =>
    errorCode(() => checkBlock(manifest, index, begin, len));

  it('accepts blocks inside a piece, up to its end', () => {
    expect(blockError(0, 0, MIN_PIECE_LENGTH)).toBeUndefined();
    expect(blockError(1, MIN_PIECE_LENGTH - 1, 1)).toBeUndefined();
    expect(blockError(2, 0, 7232)).toBeUndefined();
    expect(blockError(2, 7231, 1)).toBeUndefined();
  });

  it('rejects a piece index at or past the piece count', () => {
    expect(blockError(3, 0, 1)).toBe(BAD_FRAME);
    expect(blockError(U32_MAX, 0, 1)).toBe(BAD_FRAME);
  });

  it('rejects a block running past the end of its piece, short last piece included', () => {
    expect(blockError(0, 1, MIN_PIECE_LENGTH)).toBe(BAD_FRAME);
    expect(blockError(0, MIN_PIECE_LENGTH, 1)).toBe(BAD_FRAME);
    expect(blockError(2, 0, 7233)).toBe(BAD_FRAME);
    expect(blockError(2, 7232, 1)).toBe(BAD_FRAME);
    expect(blockError(1, U32_MAX, MAX_BLOCK_LENGTH)).toBe(BAD_FRAME);
  });

  it('accepts exactly the blocks that lie inside the file', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.oneof(fc.integer({ min: 0, max: MIN_PIECE_LENGTH + 2 }), u32),
        fc.integer({ min: 1, max: MAX_BLOCK_LENGTH }),
        (index, begin, len) => {
          const size = index < 2 ? MIN_PIECE_LENGTH : index === 2 ? 7232 : 0;
          expect(blockError(index, begin, len)).toBe(begin + len <= size ? undefined : BAD_FRAME);
        },
      ),
    );
  });
});

describe('isSwarmFrame', () => {
  it('claims exactly the leading bytes 0x10..0x1f', () => {
    expect(isSwarmFrame(new Uint8Array(0))).toBe(false);
    for (let type = 0; type < 256; type++) {
      expect(isSwarmFrame(new Uint8Array([type, 0]))).toBe(type >= 0x10 && type <= 0x1f);
    }
  });

  it('is true for every encoded message', () => {
    fc.assert(
      fc.property(anyMessage, (msg) => {
        expect(isSwarmFrame(encodeMessage(msg))).toBe(true);
      }),
    );
  });
});
