import { createRequire } from 'node:module';

/** WebRTC for Node peers in tests (@roamhq/wrtc, a native module loaded through require). */
export const wrtc: object = createRequire(import.meta.url)('@roamhq/wrtc');
