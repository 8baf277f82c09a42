import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    // Workspace packages are read from their TypeScript sources (the "source" export condition).
    conditions: ['source'],
  },
  ssr: {
    resolve: { conditions: ['source'] },
  },
  test: {
    include: ['unit/**/*.test.ts', 'sim/**/*.test.ts', 'integration/**/*.test.ts', 'e2e/**/*.test.ts'],
    // Native WebRTC (@roamhq/wrtc) and Chromium run in child processes, not worker threads.
    pool: 'forks',
    // One file at a time: the ring, NAT and browser tests start dozens of WebRTC peers and
    // Chromium renderers, and their time limits (a ring heals within 10 s) are about the
    // code, not about sharing two cores with another such test.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
