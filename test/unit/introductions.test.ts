import { INTRODUCTION_WINDOW_MS, KeyedRateLimit, MemoryIntroductions } from '@ringswarm/signaling-server';
import { describe, expect, it } from 'vitest';

const id = (n: number) => n.toString(16).padStart(40, '0');

describe('the tracker remembering introductions', () => {
  it('holds both ways, lapses after the window, and a fresh answer renews it', async () => {
    const book = new MemoryIntroductions();
    book.introduce(id(1), [id(2), id(3)], 0);
    expect(await book.introduced(id(1), id(2), 1)).toBe(true);
    expect(await book.introduced(id(3), id(1), 1)).toBe(true);
    expect(await book.introduced(id(2), id(3), 1)).toBe(false);
    expect(await book.introduced(id(1), id(2), INTRODUCTION_WINDOW_MS)).toBe(false);
    book.introduce(id(2), [id(1)], INTRODUCTION_WINDOW_MS);
    expect(await book.introduced(id(1), id(2), INTRODUCTION_WINDOW_MS + 1)).toBe(true);
    // A peer is never introduced to itself.
    book.introduce(id(4), [id(4)], 0);
    expect(book.countFor(id(4))).toBe(0);
  });

  it('keeps at most maxPerPeer for one peer, the newest, and forgets a peer that left', async () => {
    const book = new MemoryIntroductions(60_000, 100);
    for (let round = 0; round < 50; round++) {
      book.introduce(
        id(0),
        Array.from({ length: 50 }, (_, i) => id(1 + round * 50 + i)),
        round,
      );
    }
    expect(book.countFor(id(0))).toBe(100);
    expect(await book.introduced(id(0), id(50 * 50), 100)).toBe(true);
    expect(await book.introduced(id(0), id(1), 100)).toBe(false);
    // Lapsed entries go at the next write.
    book.introduce(id(0), [id(9_999)], 60_000 + 50);
    expect(book.countFor(id(0))).toBe(1);
    book.forget(id(0));
    expect(book.peers).toBe(0);
  });
});

describe('rate limits by key', () => {
  it('gives each key its burst and rate, and drops buckets once they are full again', () => {
    let now = 0;
    const limit = new KeyedRateLimit(2, 3, () => now);
    expect([1, 2, 3, 4].map(() => limit.take('a'))).toEqual([true, true, true, false]);
    expect(limit.take('b')).toBe(true);
    now += 500;
    expect([limit.take('a'), limit.take('a')]).toEqual([true, false]);
    now += 60_000;
    limit.take('c');
    expect(limit.size).toBe(1);
  });
});
