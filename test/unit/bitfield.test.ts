import { Bitfield } from '@ringswarm/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** A bit count and a set of indexes below it. */
const lengthAndIndexes = fc
  .integer({ min: 0, max: 200 })
  .chain((length) =>
    fc.tuple(fc.constant(length), length === 0 ? fc.constant([]) : fc.array(fc.nat({ max: length - 1 }))),
  );

describe('Bitfield', () => {
  it('round-trips through its bytes, keeping has() and count', () => {
    fc.assert(
      fc.property(lengthAndIndexes, ([length, indexes]) => {
        const original = new Bitfield(length);
        for (const i of indexes) original.set(i);
        const copy = new Bitfield(length, original.bytes);
        const wanted = new Set(indexes);
        for (let i = 0; i < length; i++) expect(copy.has(i)).toBe(wanted.has(i));
        expect(copy.count).toBe(wanted.size);
        expect(original.count).toBe(wanted.size);
        expect(copy.complete).toBe(wanted.size === length);
        expect(copy.bytes).toEqual(original.bytes);
      }),
    );
  });

  it('packs bits most-significant first', () => {
    const b = new Bitfield(10);
    b.set(0);
    b.set(9);
    expect([...b.bytes]).toEqual([0x80, 0x40]);
    expect(new Bitfield(10, new Uint8Array([0x01, 0x00])).has(7)).toBe(true);
  });

  it('counts a bit set twice once', () => {
    const b = new Bitfield(8);
    b.set(3);
    b.set(3);
    expect(b.count).toBe(1);
  });

  it('is complete exactly when every bit is set', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), (length) => {
        const b = new Bitfield(length);
        for (let i = 0; i < length; i++) {
          expect(b.complete).toBe(false);
          b.set(i);
        }
        expect(b.complete).toBe(true);
        expect(Bitfield.full(length).bytes).toEqual(b.bytes);
        expect(Bitfield.full(length).count).toBe(length);
      }),
    );
    expect(new Bitfield(0).complete).toBe(true);
  });

  it('copies the bytes it is given', () => {
    const bytes = new Uint8Array([0x80]);
    const b = new Bitfield(8, bytes);
    bytes[0] = 0xff;
    expect(b.count).toBe(1);
    expect(b.has(1)).toBe(false);
  });

  it('has() is false for any index out of range', () => {
    const full = Bitfield.full(13);
    for (const i of [-1, 13, 14, 16, 1e9, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) expect(full.has(i)).toBe(false);
  });

  it('set() throws RangeError for an index out of range, and changes nothing', () => {
    const b = new Bitfield(13);
    for (const i of [-1, 13, 16, 1.5, Number.NaN]) expect(() => b.set(i)).toThrow(RangeError);
    expect(b.count).toBe(0);
    expect([...b.bytes]).toEqual([0, 0]);
  });

  it('rejects bytes of the wrong length', () => {
    expect(() => new Bitfield(13, new Uint8Array(1))).toThrow(RangeError);
    expect(() => new Bitfield(13, new Uint8Array(3))).toThrow(RangeError);
    expect(() => new Bitfield(16, new Uint8Array(3))).toThrow(RangeError);
    expect(() => new Bitfield(0, new Uint8Array(1))).toThrow(RangeError);
    expect(new Bitfield(0, new Uint8Array(0)).count).toBe(0);
  });

  it('rejects any spare bit set past the last index', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }).filter((n) => n % 8 !== 0),
        fc.nat(),
        (length, pick) => {
          const size = Math.ceil(length / 8);
          const spare = size * 8 - length;
          const bytes = Bitfield.full(length).bytes.slice();
          bytes[size - 1]! |= 1 << (pick % spare);
          expect(() => new Bitfield(length, bytes)).toThrow(RangeError);
        },
      ),
    );
  });
});
