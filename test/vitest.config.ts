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
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
