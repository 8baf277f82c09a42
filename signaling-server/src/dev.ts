/** `npm run dev`: the tracker plus Vite's dev server (hot reload) on one port. */
import { fileURLToPath } from 'node:url';
import { createServer as createVite } from 'vite';
import { ConfigError, loadConfig } from './config.js';
import { startupLines } from './run.js';
import { startServer } from './server.js';

const root = fileURLToPath(new URL('../../web-client', import.meta.url));

async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  const vite = await createVite({ root, configFile: `${root}/vite.config.ts`, server: { middlewareMode: true } });
  const server = await startServer(config, { fallback: (req, res, next) => vite.middlewares(req, res, next) });
  process.stdout.write(`${startupLines(server, server.origins()).join('\n')}\n(dev server: Vite serves the page)\n`);
  const stop = () => {
    void Promise.all([vite.close(), server.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`ringswarm dev: ${err instanceof ConfigError ? err.message : String(err)}\n`);
  process.exit(1);
});
