/**
 * The open channel's frame cap counts unsent frames from `bufferedAmount` alone
 * (ChannelBacklog); real WebRTC drains small frames too fast for a test to fill it.
 */
import { ChannelBacklog } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';

describe('ChannelBacklog', () => {
  it('counts every frame as unsent while the channel buffers all of them', () => {
    const b = new ChannelBacklog();
    for (let i = 0; i < 10; i++) b.add(100);
    expect(b.frames(1000)).toBe(10);
  });

  it('forgets frames in order as the buffer drains, a partly sent frame still counted', () => {
    const b = new ChannelBacklog();
    b.add(10);
    b.add(20);
    b.add(30);
    expect(b.frames(60)).toBe(3);
    expect(b.frames(50)).toBe(2); // the first 10 bytes went
    expect(b.frames(45)).toBe(2); // 5 bytes of the second went: it is still unsent
    expect(b.frames(30)).toBe(1);
    expect(b.frames(0)).toBe(0);
    b.add(5);
    expect(b.frames(5)).toBe(1);
  });

  it('stays exact across many frames (compaction keeps the order)', () => {
    const b = new ChannelBacklog();
    let buffered = 0;
    for (let i = 0; i < 10_000; i++) {
      b.add(3);
      buffered += 3;
      if (i % 2 === 0) buffered -= 3; // the channel sends one frame of every two
      expect(b.frames(buffered)).toBe(buffered / 3);
    }
  });
});
