/**
 * wrtcForSimplePeer: a WebRTC implementation whose descriptions have a getter-only `sdp`
 * (node-datachannel's polyfill) gets plain descriptions, because simple-peer assigns
 * `offer.sdp`; any other implementation passes through untouched.
 */
import { wrtcForSimplePeer } from '@ringswarm/shared';
import { describe, expect, it } from 'vitest';

class ReadOnlyDescription {
  readonly #sdp: string;
  readonly type: string;
  constructor(init: { type: string; sdp: string }) {
    this.type = init.type;
    this.#sdp = init.sdp;
  }
  get sdp(): string {
    return this.#sdp;
  }
}

class FakePeerConnection {
  async createOffer(): Promise<ReadOnlyDescription> {
    return new ReadOnlyDescription({ type: 'offer', sdp: 'v=0 offer' });
  }
  async createAnswer(): Promise<ReadOnlyDescription> {
    return new ReadOnlyDescription({ type: 'answer', sdp: 'v=0 answer' });
  }
  close(): string {
    return 'closed';
  }
}

describe('wrtcForSimplePeer', () => {
  it('gives an implementation with getter-only descriptions plain, writable ones', async () => {
    const impl = { RTCPeerConnection: FakePeerConnection, RTCSessionDescription: ReadOnlyDescription, other: 1 };
    // What simple-peer does, and what fails without the adapter.
    const raw = await new FakePeerConnection().createOffer();
    expect(() => {
      (raw as { sdp: string }).sdp = 'x';
    }).toThrow(TypeError);

    const adapted = wrtcForSimplePeer(impl) as typeof impl;
    expect(adapted).not.toBe(impl);
    expect(adapted.other).toBe(1);
    expect(adapted.RTCSessionDescription).toBe(ReadOnlyDescription);
    const pc = new adapted.RTCPeerConnection();
    expect(pc).toBeInstanceOf(FakePeerConnection);
    expect(pc.close()).toBe('closed');
    const offer = await pc.createOffer();
    expect(offer).toEqual({ type: 'offer', sdp: 'v=0 offer' });
    (offer as { sdp: string }).sdp = 'transformed';
    expect(offer.sdp).toBe('transformed');
    expect(await pc.createAnswer()).toEqual({ type: 'answer', sdp: 'v=0 answer' });
    // One adapted class per implementation.
    expect(wrtcForSimplePeer(impl)).toBe(adapted);
  });

  it('passes an implementation with plain descriptions through as it is', () => {
    class PlainDescription {
      sdp = '';
      type = '';
    }
    const impl = { RTCPeerConnection: FakePeerConnection, RTCSessionDescription: PlainDescription };
    expect(wrtcForSimplePeer(impl)).toBe(impl);
  });
});
