/**
 * The signaling server imports only `@ringswarm/shared/protocol`, so its process never loads
 * the peer side of the package: simple-peer (WebRTC) and socket.io-client. Read from the
 * running server: the built `signaling-server/dist/main.js` is started in a child process
 * whose every ES module load goes through a loader hook that writes the module's URL to a
 * file, and which adds the CommonJS module cache to that file on exit.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { SocketPool } from '../helpers/tracker-socket.js';

/** Runs in the loader thread: appends each module URL before the module is loaded. */
const HOOKS = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  appendFileSync(log, url + '\\n');
  return next(url, context);
}`;

/** Runs first in the server process: registers the hooks, and dumps require.cache on exit. */
const PRELOAD = `
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
const log = process.env.MODULE_LOG;
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), { data: { log } });
// (The CommonJS cache is one for the process; any absolute path will do to reach it.)
const cache = createRequire(process.execPath).cache;
process.on('exit', () => {
  appendFileSync(log, Object.keys(cache).map((p) => pathToFileURL(p).href + '\\n').join(''));
});`;

/** A module of one of the packages the server must not load, wherever npm put it. */
const FORBIDDEN = /\/node_modules\/(simple-peer|socket\.io-client)\//;

describe('the signaling server process', () => {
  let dir: string | undefined;
  let server: ServerProcess | undefined;
  let sockets: SocketPool | undefined;

  afterEach(async () => {
    sockets?.closeAll();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    sockets = server = dir = undefined;
  });

  it('never loads simple-peer or socket.io-client, even while it serves peers', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ringswarm-modules-'));
    const log = join(dir, 'modules.txt');
    server = await startServerProcess([], (command, args) =>
      spawn(command, ['--import', `data:text/javascript,${encodeURIComponent(PRELOAD)}`, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, MODULE_LOG: log },
      }),
    );
    // Serve a page request, the ICE endpoint and a peer's connection and announce first, so
    // that modules loaded on demand are in the log too.
    expect((await fetch(`${server.url}/api/ice`)).status).toBe(200);
    sockets = new SocketPool(server.url);
    const { socket } = await sockets.peer();
    const answer: unknown = await socket.timeout(5_000).emitWithAck('announce', {
      discoveryKey: 'ab'.repeat(32),
      event: 'started',
      left: null,
      uploaded: 0,
      downloaded: 0,
      numwant: 5,
    });
    expect(answer).toMatchObject({ ok: true });
    sockets.closeAll();
    expect(await server.stop()).toBe(0);

    const modules = (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '');
    // The log is real: it holds the server's entry, its own socket.io and the protocol barrel.
    const main = new URL('../../signaling-server/dist/main.js', import.meta.url).href;
    expect(modules).toContain(main);
    expect(modules.some((m) => /\/node_modules\/socket\.io\//.test(m))).toBe(true);
    expect(modules.some((m) => m.endsWith('/shared/dist/protocol/index.js'))).toBe(true);
    expect(modules.filter((m) => FORBIDDEN.test(m))).toEqual([]);
  });
});
