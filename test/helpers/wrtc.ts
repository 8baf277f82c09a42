import { loadWrtc, type WrtcImpl } from '@ringswarm/cli';

/**
 * WebRTC for Node peers that tests run in their own process: @roamhq/wrtc unless
 * `RINGSWARM_WRTC=ndc`, then node-datachannel as the CLI runs it (cli/src/wrtc.ts). CLI
 * processes started by tests run the CLI's default, node-datachannel, so both stacks are
 * exercised. In-process peers stay on @roamhq/wrtc for now: under node-datachannel about
 * one connection in a few hundred never opens (see test/bench/wrtc-crash-min.mjs), which
 * the tests' single connections would turn into failures.
 */
export const WRTC_IMPL: WrtcImpl = process.env.RINGSWARM_WRTC === 'ndc' ? 'ndc' : 'roamhq';
export const wrtc: object = loadWrtc(WRTC_IMPL);
