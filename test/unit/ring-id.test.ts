import {
  DHT_MAX_TTL_MS,
  decodeRingMessage,
  encodeRingMessage,
  FingerTable,
  RING_ROUTE_MAX_HOPS,
  RingErrorCode,
  type RingMessage,
  RingSpace,
  SuccessorList,
} from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const s8 = new RingSpace(8);

describe('RingSpace (m = 8)', () => {
  it('does arithmetic modulo 256', () => {
    expect(s8.size).toBe(256n);
    expect(s8.add(250n, 10n)).toBe(4n);
    expect(s8.distance(250n, 4n)).toBe(10n);
    expect(s8.distance(4n, 250n)).toBe(246n);
    expect(s8.distance(7n, 7n)).toBe(0n);
    expect(s8.fingerStart(200n, 7)).toBe(72n);
    expect(s8.fingerStart(200n, 0)).toBe(201n);
  });

  it('checks open and half-open arcs, across zero too', () => {
    expect(s8.between(60n, 50n, 100n)).toBe(true);
    expect(s8.between(100n, 50n, 100n)).toBe(false);
    expect(s8.between(50n, 50n, 100n)).toBe(false);
    expect(s8.between(5n, 200n, 10n)).toBe(true);
    expect(s8.between(255n, 200n, 10n)).toBe(true);
    expect(s8.between(100n, 200n, 10n)).toBe(false);
    expect(s8.betweenRight(100n, 50n, 100n)).toBe(true);
    expect(s8.betweenRight(10n, 200n, 10n)).toBe(true);
    expect(s8.betweenRight(200n, 200n, 10n)).toBe(false);
    // A ring of one: (a, a) is everything but a, (a, a] is everything.
    expect(s8.between(9n, 7n, 7n)).toBe(true);
    expect(s8.between(7n, 7n, 7n)).toBe(false);
    expect(s8.betweenRight(7n, 7n, 7n)).toBe(true);
  });

  it('agrees with a brute-force walk around the circle', () => {
    fc.assert(
      fc.property(fc.nat(255), fc.nat(255), fc.nat(255), (x, a, b) => {
        const inside: number[] = [];
        for (let k = (a + 1) % 256; k !== b; k = (k + 1) % 256) inside.push(k);
        if (a === b) for (let k = 0; k < 256; k++) if (k !== a && !inside.includes(k)) inside.push(k);
        expect(s8.between(BigInt(x), BigInt(a), BigInt(b))).toBe(inside.includes(x));
        expect(s8.betweenRight(BigInt(x), BigInt(a), BigInt(b))).toBe(inside.includes(x) || x === b);
      }),
    );
  });

  it('writes identifiers as fixed-width hex and reads them back', () => {
    expect(s8.toHex(10n)).toBe('0a');
    expect(s8.fromHex('ff')).toBe(255n);
    expect(() => s8.fromHex('100')).toThrow(RangeError);
    expect(() => s8.fromHex('zz')).toThrow(RangeError);
    expect(() => s8.toHex(256n)).toThrow(RangeError);
    const s160 = new RingSpace();
    const hex = 'ab'.repeat(20);
    expect(s160.toHex(s160.fromHex(hex))).toBe(hex);
    expect(new RingSpace(12).toHex(0xabcn)).toBe('abc');
    expect(() => new RingSpace(12).fromHex('fff0')).toThrow(RangeError);
    expect(() => new RingSpace(7)).toThrow(RangeError);
  });

  it('takes the top m bits of a digest as a key', () => {
    expect(s8.fromBytes(new Uint8Array([0xab, 0xcd]))).toBe(0xabn);
    expect(new RingSpace(12).fromBytes(new Uint8Array([0xab, 0xcd]))).toBe(0xabcn);
    expect(() => new RingSpace(12).fromBytes(new Uint8Array([0xab]))).toThrow(RangeError);
  });
});

describe('SuccessorList', () => {
  it('orders entries clockwise from the owner, drops the owner and duplicates, keeps r', () => {
    const list = new SuccessorList(s8, 200n, 3);
    expect(list.replace([10n, 250n, 200n, 10n, 100n, 5n])).toBe(true);
    expect(list.toArray()).toEqual([250n, 5n, 10n]);
    expect(list.replace([250n, 5n, 10n])).toBe(false);
    expect(list.first).toBe(250n);
    expect(list.last).toBe(10n);
  });

  it('names the possible owners of a key it covers', () => {
    const list = new SuccessorList(s8, 200n, 3);
    list.replace([250n, 5n, 10n]);
    expect(list.covers(201n)).toBe(true);
    expect(list.covers(10n)).toBe(true);
    expect(list.covers(11n)).toBe(false);
    expect(list.covers(200n)).toBe(false);
    expect(list.ownersOf(251n)).toEqual([5n, 10n]);
    expect(list.ownersOf(250n)).toEqual([250n, 5n, 10n]);
    expect(list.ownersOf(100n)).toEqual([]);
    // Confident answers only from the first half of the list: 251 -> 5 is entry 1 of 3.
    expect(list.confidentOwnersOf(251n)).toEqual([5n, 10n]);
    expect(list.confidentOwnersOf(6n)).toEqual([]);
    expect(list.confidentOwnersOf(201n)).toEqual([250n, 5n, 10n]);
    expect(list.remove(5n)).toBe(true);
    expect(list.remove(5n)).toBe(false);
    expect(list.ownersOf(251n)).toEqual([10n]);
  });

  it('refuses fewer than the seed’s two successors', () => {
    expect(() => new SuccessorList(s8, 1n, 1)).toThrow(RangeError);
  });
});

describe('FingerTable', () => {
  it('keeps distinct pointers and their backups, and moves a dead finger to its backup', () => {
    const f = new FingerTable(s8, 10n, 2);
    f.set(6, 100n, [120n, 150n, 170n]);
    f.set(7, 200n);
    f.set(5, 100n, [120n]);
    f.set(4, 10n); // a pointer to itself is no finger
    expect(f.entries()).toEqual([
      { index: 5, node: 100n, backups: [120n] },
      { index: 6, node: 100n, backups: [120n, 150n] },
      { index: 7, node: 200n, backups: [] },
    ]);
    expect(f.nodes().sort()).toEqual([100n, 120n, 150n, 200n]);
    // 100 dies: successor(10 + 2^5) and successor(10 + 2^6) are now its backup 120.
    expect(f.remove(100n)).toBe(true);
    expect(f.entries()).toEqual([
      { index: 5, node: 120n, backups: [] },
      { index: 6, node: 120n, backups: [150n] },
      { index: 7, node: 200n, backups: [] },
    ]);
    // 200 dies with no backup: finger 7 is gone.
    f.remove(200n);
    expect(f.get(7)).toBeUndefined();
    expect(f.remove(99n)).toBe(false);
    expect(() => f.set(8, 1n)).toThrow(RangeError);
  });

  it('starts remote lookups at the first finger beyond the successor list', () => {
    const f = new FingerTable(s8, 10n);
    // Successors reach 100: distance 90 < 2^7, so fingers 0..6 are answered by the list.
    expect(f.firstRemoteIndex(100n)).toBe(7);
    expect(f.firstRemoteIndex(11n)).toBe(1);
    expect(f.firstRemoteIndex(null)).toBe(0);
    expect(f.firstRemoteIndex(9n)).toBe(8);
  });
});

describe('ring messages', () => {
  const s16 = new RingSpace(16);
  /** Shaped as a signed name value (infohash.public key.signature); decoding does not check the signature. */
  const NAME_VALUE = `${'ab'.repeat(32)}.${'cd'.repeat(32)}.${'ef'.repeat(64)}`;
  const samples: RingMessage[] = [
    { type: 'ping', rid: 1 },
    { type: 'pong', rid: 1, predecessor: null },
    { type: 'pong', rid: 2, predecessor: 0xbeefn },
    { type: 'find', rid: 3, key: 0x0001n },
    { type: 'found', rid: 3, done: true, nodes: [1n, 0xffffn] },
    { type: 'get-state', rid: 4 },
    { type: 'state', rid: 4, predecessor: 5n, successors: [6n, 7n] },
    { type: 'join', rid: 5 },
    { type: 'join-ack', rid: 5, predecessor: null, successors: [] },
    { type: 'attach', rid: 10 },
    { type: 'attach-ack', rid: 10, ok: true, successors: [6n, 7n] },
    { type: 'attach-ack', rid: 11, ok: false, successors: [] },
    { type: 'successors', successors: [9n] },
    { type: 'leave', predecessor: 1n, successors: [2n, 3n] },
    { type: 'find', rid: 6, key: 2n, exclude: [3n, 4n] },
    { type: 'route', rid: 9, key: 0x4242n, path: [1n, 2n] },
    { type: 'routed', rid: 9, owners: [0x4300n, 0x4400n], path: [1n, 2n, 0x4300n], predecessor: 0x4200n },
    { type: 'routed', rid: 9, owners: [], path: [1n, 2n], predecessor: null },
    { type: 'route', rid: 12, key: 0x4242n, path: [1n], get: true },
    {
      type: 'routed',
      rid: 12,
      owners: [0x4300n],
      path: [1n, 0x4300n],
      predecessor: null,
      values: ['cdef', NAME_VALUE],
    },
    { type: 'dht-put', rid: 7, kind: 'provider', key: 0x1234n, ttlMs: 60_000 },
    { type: 'dht-put', rid: 7, kind: 'name', key: 0x1234n, value: NAME_VALUE, ttlMs: 60_000 },
    { type: 'dht-put-reply', rid: 7, ok: true },
    { type: 'dht-get', rid: 8, key: 0x1234n },
    { type: 'dht-get-reply', rid: 8, values: ['cdef', NAME_VALUE] },
    {
      type: 'dht-store',
      records: [
        { kind: 'provider', key: 5n, value: '00ef', ttlMs: 1 },
        { kind: 'name', key: 5n, value: NAME_VALUE, ttlMs: 1 },
      ],
    },
  ];

  it('round-trip through JSON', () => {
    for (const msg of samples) {
      const wire = JSON.parse(JSON.stringify(encodeRingMessage(s16, msg)));
      expect(decodeRingMessage(s16, wire)).toEqual(msg);
    }
    expect(encodeRingMessage(s16, { type: 'find', rid: 1, key: 0xan })).toEqual({ type: 'find', rid: 1, key: '000a' });
  });

  it('reject malformed input with ERR_RING_BAD_MESSAGE', () => {
    const bad: unknown[] = [
      null,
      'ping',
      { type: 'ping' },
      { type: 'ping', rid: -1 },
      { type: 'ping', rid: 1.5 },
      { type: 'find', rid: 1, key: '0a' },
      { type: 'find', rid: 1, key: '000A' },
      { type: 'find', rid: 1, key: 10 },
      { type: 'state', rid: 1, predecessor: null, successors: Array(65).fill('0001') },
      { type: 'ping', rid: 1, extra: true },
      { type: 'nope', rid: 1 },
      { type: 'dht-put', rid: 1, key: '0001', value: 'NOT-HEX', ttlMs: 1 },
      { type: 'dht-put', rid: 1, kind: 'provider', key: '0001', ttlMs: 25 * 60 * 60 * 1000 },
      { type: 'dht-store', records: [{ key: '0001', value: 'ab' }] },
      // A provider put names no value (the value is the sender); a name value must be signed-shaped.
      { type: 'dht-put', rid: 1, kind: 'provider', key: '0001', value: '00ab', ttlMs: 1 },
      { type: 'dht-put', rid: 1, kind: 'name', key: '0001', value: 'ab'.repeat(32), ttlMs: 1 },
      { type: 'dht-put', rid: 1, kind: 'name', key: '0001', ttlMs: 1 },
      { type: 'dht-put', rid: 1, kind: 'other', key: '0001', ttlMs: 1 },
      // TTLs are capped at twice the publish interval.
      { type: 'dht-put', rid: 1, kind: 'provider', key: '0001', ttlMs: DHT_MAX_TTL_MS + 1 },
      { type: 'dht-put', rid: 1, kind: 'provider', key: '0001', ttlMs: 0 },
      { type: 'dht-store', records: [{ kind: 'provider', key: '0001', value: 'ab', ttlMs: 1 }] },
      { type: 'dht-store', records: [{ kind: 'provider', key: '0001', value: '00ab', ttlMs: 1, from: '0002' }] },
      { type: 'dht-store', records: [{ kind: 'name', key: '0001', value: '00ab', ttlMs: 1 }] },
      // A routed lookup's path starts with its asker and is as long as its hop limit allows.
      { type: 'route', rid: 1, key: '0001', path: [] },
      { type: 'route', rid: 1, key: '0001', path: Array(RING_ROUTE_MAX_HOPS + 2).fill('0001') },
      { type: 'route', rid: 1, key: '0001' },
      { type: 'routed', rid: 1, owners: ['0001'], path: ['zz01'], predecessor: null },
      { type: 'routed', rid: 1, owners: Array(65).fill('0001'), path: ['0001'], predecessor: null },
      { type: 'routed', rid: 1, owners: ['0001'], path: ['0001'] },
    ];
    for (const raw of bad) {
      expect(() => decodeRingMessage(s16, raw)).toThrow(expect.objectContaining({ code: RingErrorCode.BAD_MESSAGE }));
    }
    // Hex width follows m: 12 bits take three digits, and the top digit must stay below 2^m.
    const s12 = new RingSpace(12);
    expect(decodeRingMessage(s12, { type: 'find', rid: 1, key: 'fff' })).toEqual({ type: 'find', rid: 1, key: 0xfffn });
    expect(() => decodeRingMessage(new RingSpace(10), { type: 'find', rid: 1, key: 'fff' })).toThrow(
      expect.objectContaining({ code: RingErrorCode.BAD_MESSAGE }),
    );
  });
});
