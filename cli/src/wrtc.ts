import { createRequire } from 'node:module';

/**
 * WebRTC for the Node peer, a native module: node-datachannel (libdatachannel, through its
 * W3C polyfill) by default, @roamhq/wrtc with `RINGSWARM_WRTC=roamhq`. Under connections that
 * close while data is in flight, @roamhq/wrtc 0.10 can crash the process (SIGSEGV in
 * RTCDataChannel::Send, reproduced by test/bench/wrtc-crash-loop.sh); libdatachannel does
 * not. libdatachannel's one failure to open a connection (an answerer's DTLS hello before
 * the answer) is kept from happening by PeerLink, which holds the offerer's candidates.
 */
export type WrtcImpl = 'ndc' | 'roamhq';

export function wrtcImpl(env: NodeJS.ProcessEnv = process.env): WrtcImpl {
  return env.RINGSWARM_WRTC === 'roamhq' ? 'roamhq' : 'ndc';
}

interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/**
 * The polyfill hands libdatachannel each TURN server as `turn:USER:PASS@host`, and
 * libdatachannel reads the user name up to the first colon and percent-decodes both. TURN
 * REST user names are `<expiry>:<peer ID>`, so they go in percent-encoded.
 */
export function encodeTurnCredentials(servers: readonly IceServer[]): IceServer[] {
  return servers.map((s) =>
    s.username && s.credential
      ? { ...s, username: encodeURIComponent(s.username), credential: encodeURIComponent(s.credential) }
      : s,
  );
}

type PeerConnectionClass = new (config?: { iceServers?: IceServer[] }, ...rest: unknown[]) => object;

export function loadWrtc(impl: WrtcImpl = wrtcImpl()): object {
  const require = createRequire(import.meta.url);
  if (impl === 'roamhq') return require('@roamhq/wrtc');
  const polyfill: { RTCPeerConnection: PeerConnectionClass } = require('node-datachannel/polyfill');
  class TurnSafePeerConnection extends polyfill.RTCPeerConnection {
    constructor(config?: { iceServers?: IceServer[] }, ...rest: unknown[]) {
      super(config?.iceServers ? { ...config, iceServers: encodeTurnCredentials(config.iceServers) } : config, ...rest);
    }
  }
  return { ...polyfill, RTCPeerConnection: TurnSafePeerConnection };
}
