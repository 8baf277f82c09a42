import { loadWrtc, wrtcImpl } from '@ringswarm/cli';

/**
 * WebRTC for Node peers in tests: the same stack the CLI runs (cli/src/wrtc.ts), so
 * node-datachannel unless `RINGSWARM_WRTC=roamhq`.
 */
export const WRTC_IMPL = wrtcImpl();
export const wrtc: object = loadWrtc(WRTC_IMPL);
