/**
 * The Node peer's WebRTC choice (cli/src/wrtc.ts): which stack, and TURN credentials in the
 * form libdatachannel reads from a `turn:USER:PASS@host` URL.
 */
import { encodeTurnCredentials, wrtcImpl } from '@ringswarm/cli';
import { describe, expect, it } from 'vitest';

describe('the Node peer’s WebRTC', () => {
  it('is node-datachannel unless RINGSWARM_WRTC=roamhq', () => {
    expect(wrtcImpl({})).toBe('ndc');
    expect(wrtcImpl({ RINGSWARM_WRTC: 'ndc' })).toBe('ndc');
    expect(wrtcImpl({ RINGSWARM_WRTC: 'roamhq' })).toBe('roamhq');
  });

  it('percent-encodes TURN REST credentials, whose user name holds a colon, and leaves STUN alone', () => {
    const stun = { urls: 'stun:203.0.113.1:3478' };
    const turn = {
      urls: ['turn:203.0.113.1:3478?transport=udp'],
      username: '1764633600:5110467dc2',
      credential: 'a/b+c=',
    };
    const [s, t] = encodeTurnCredentials([stun, turn]);
    expect(s).toEqual(stun);
    expect(t!.username).toBe('1764633600%3A5110467dc2');
    expect(t!.username).not.toContain(':');
    expect(decodeURIComponent(t!.username!)).toBe(turn.username);
    expect(decodeURIComponent(t!.credential!)).toBe(turn.credential);
    expect(t!.urls).toEqual(turn.urls);
  });
});
