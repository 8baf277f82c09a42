import { loadWrtc, wrtcImpl } from '@ringswarm/cli';

/**
 * WebRTC for Node peers that tests run in their own process: the CLI's stack
 * (cli/src/wrtc.ts), node-datachannel unless `RINGSWARM_WRTC=roamhq`. CLI processes started by
 * tests inherit the variable.
 */
export const WRTC_IMPL = wrtcImpl();
export const wrtc: object = loadWrtc(WRTC_IMPL);
