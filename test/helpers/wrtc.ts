import { loadWrtc, wrtcImpl } from '@ringswarm/cli';

/**
 * WebRTC for Node peers that tests run in their own process: the CLI's stack
 * (cli/src/wrtc.ts), @roamhq/wrtc unless `RINGSWARM_WRTC=ndc`. CLI processes started by
 * tests inherit the variable.
 */
export const WRTC_IMPL = wrtcImpl();
export const wrtc: object = loadWrtc(WRTC_IMPL);
