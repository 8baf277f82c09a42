import { crc32 } from 'node:zlib';
import { addressBytes, bindingSuccess, mappedAddress, readStunRequest } from '@ringswarm/signaling-server';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COOKIE, parseAnswer, stunMessage, xorMapped } from '../helpers/stun-client.js';

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);

describe('STUN Binding codec', () => {
  it('turns textual IP addresses into their bytes', () => {
    expect(hex(addressBytes('192.0.2.1'))).toBe('c0000201');
    expect(hex(addressBytes('::1'))).toBe(`${'0'.repeat(30)}01`);
    expect(hex(addressBytes('::'))).toBe('0'.repeat(32));
    expect(hex(addressBytes('2001:db8::5'))).toBe('20010db8000000000000000000000005');
    expect(hex(addressBytes('fe80::1:2'))).toBe('fe800000000000000000000000010002');
    expect(hex(addressBytes('1:2:3:4:5:6:7:8'))).toBe('00010002000300040005000600070008');
    expect(hex(addressBytes('::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201');
    expect(hex(addressBytes('64:ff9b::198.51.100.7'))).toBe('0064ff9b0000000000000000c6336407');
    expect(addressBytes('localhost')).toBeUndefined();
    expect(addressBytes('1.2.3.256')).toBeUndefined();
  });

  it('reports IPv4-mapped sources from a dual-stack socket as IPv4 and drops zones', () => {
    expect(mappedAddress('::ffff:203.0.113.9', 5)).toEqual({ family: 4, address: '203.0.113.9', port: 5 });
    expect(mappedAddress('fe80::1%eth0', 6)).toEqual({ family: 6, address: 'fe80::1', port: 6 });
    expect(mappedAddress('not an address', 7)).toBeUndefined();
  });

  it('round-trips any address and port through XOR-MAPPED-ADDRESS', () => {
    const v6 = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((g) => ({
      family: 6 as const,
      address: new URL(`http://[${g.map((n) => n.toString(16)).join(':')}]`).hostname.slice(1, -1),
    }));
    const v4 = fc.ipV4().map((address) => ({ family: 4 as const, address }));
    fc.assert(
      fc.property(
        fc.oneof(v4, v6),
        fc.integer({ min: 1, max: 65_535 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        (ip, port, tid) => {
          const answer = parseAnswer(Buffer.from(bindingSuccess(tid, { ...ip, port }, false)!));
          expect(xorMapped(answer)).toEqual({ family: ip.family === 4 ? 'IPv4' : 'IPv6', address: ip.address, port });
          expect(Buffer.from(answer.transactionId).equals(Buffer.from(tid))).toBe(true);
        },
      ),
    );
  });

  it('never throws on arbitrary bytes, and reads nothing without the magic cookie as a request', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const read = readStunRequest(bytes);
        if (bytes.length < 8 || Buffer.from(bytes).readUInt32BE(4) !== COOKIE) expect(read.kind).toBe('malformed');
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a valid request and each way of breaking one', () => {
    const ok = stunMessage(0x0001);
    expect(readStunRequest(ok)).toMatchObject({ kind: 'binding-request', unknownRequired: [], fingerprint: false });
    expect(readStunRequest(stunMessage(0x0011))).toEqual({ kind: 'indication' });
    const withUnknown = stunMessage(0x0001, undefined, [
      { type: 0x0003, value: Buffer.alloc(4) },
      { type: 0x0003, value: Buffer.alloc(4) },
      { type: 0x8022, value: Buffer.from('x') },
      { type: 0x0024, value: Buffer.alloc(4) },
    ]);
    expect(readStunRequest(withUnknown)).toMatchObject({ unknownRequired: [0x0003, 0x0024] });
    // FINGERPRINT must be last: a correct one followed by another attribute.
    const fingerprinted = stunMessage(0x0001, undefined, [], true);
    const header = Buffer.from(fingerprinted.subarray(0, 20));
    header.writeUInt16BE(8 + 4, 2);
    const fp = Buffer.from([0x80, 0x28, 0, 4, 0, 0, 0, 0]);
    fp.writeUInt32BE((crc32(header) ^ 0x5354554e) >>> 0, 4);
    const afterFingerprint = Buffer.concat([header, fp, Buffer.from([0x80, 0x22, 0, 0])]);
    expect(readStunRequest(afterFingerprint)).toEqual({ kind: 'malformed', reason: 'attribute' });
    expect(readStunRequest(afterFingerprint.subarray(0, 28))).toEqual({ kind: 'malformed', reason: 'length' });
    expect(readStunRequest(fingerprinted)).toMatchObject({ kind: 'binding-request', fingerprint: true });
    const oddLength = Buffer.concat([ok, Buffer.alloc(2)]);
    oddLength.writeUInt16BE(2, 2);
    expect(readStunRequest(oddLength)).toEqual({ kind: 'malformed', reason: 'length' });
  });
});
