import { createRequire } from 'node:module';

/**
 * WebRTC for Node peers in tests, a native module loaded through require. `RINGSWARM_WRTC=ndc`
 * picks node-datachannel's polyfill (libdatachannel), `roamhq` (the default) @roamhq/wrtc.
 */
export const WRTC_IMPL: 'ndc' | 'roamhq' = process.env.RINGSWARM_WRTC === 'ndc' ? 'ndc' : 'roamhq';
export const wrtc: object = createRequire(import.meta.url)(
  WRTC_IMPL === 'ndc' ? 'node-datachannel/polyfill' : '@roamhq/wrtc',
);
