import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig } from 'vite';

export default defineConfig({
  resolve: {
    // Workspace packages are read from their TypeScript sources.
    conditions: ['source', ...defaultClientConditions],
    alias: [
      // simple-peer's main entry needs Node built-ins (buffer, stream); its prebuilt browser
      // bundle carries its own.
      { find: /^simple-peer$/, replacement: 'simple-peer/simplepeer.min.js' },
    ],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      // The page, and its service worker at the root (its scope is where it is served from).
      input: {
        index: fileURLToPath(new URL('index.html', import.meta.url)),
        sw: fileURLToPath(new URL('src/sw.ts', import.meta.url)),
      },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
});
