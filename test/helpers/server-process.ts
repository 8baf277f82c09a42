import { type ChildProcess, spawn } from 'node:child_process';
import { expectNoInfoHashLeak, type LeakCheckOptions } from './leak-check.js';
import { repoPath } from './repo-path.js';

const MAIN = repoPath('signaling-server/dist/main.js');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote to stdout so far (its pino log lines too). */
  output(): string;
  /**
   * While the server runs, checks that /api/stats (with the `--admin-token` of `args` too)
   * and /metrics show no share noted in this test file (./leak-check.ts); then sends SIGTERM
   * and resolves with the exit code. Rejects after stopping the server when the check fails.
   */
  stop(): Promise<number | null>;
}

export interface ServerProcessOptions {
  /** How the leak check reaches the server (one in a network namespace needs its own way); default fetch. */
  get?: LeakCheckOptions['get'];
}

/** Starts a command with piped stdout/stderr (e.g. inside a network namespace). */
export type Spawner = (command: string, args: string[]) => ChildProcess;

const spawnPiped: Spawner = (command, args) => spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * Runs the built server as `npm start` does, on a free port, and waits for its URL. The
 * built-in STUN server is off (several test servers would fight over UDP 3478) unless
 * `args` gives a `--stun-port`. It listens on 127.0.0.1 unless `args` gives a `--host`: so
 * `/api/addresses` names no other address, and a page on localhost keeps its share links on
 * localhost whatever interfaces the machine running the tests has.
 */
export function startServerProcess(
  args: string[] = [],
  spawner: Spawner = spawnPiped,
  options: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const tokenAt = args.indexOf('--admin-token');
  const adminToken = tokenAt >= 0 ? args[tokenAt + 1] : undefined;
  const host = args.includes('--host') ? [] : ['--host', '127.0.0.1'];
  const child = spawner(process.execPath, [
    MAIN,
    '--port',
    '0',
    '--stun-port',
    '0',
    '--log-level',
    'warn',
    ...host,
    ...args,
  ]);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 15 s; output: ${out}${err}`));
    }, 15_000);
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening: ${out}${err}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (https?:\/\/\S+)/.exec(out);
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolve({
        url: match[1],
        child,
        output: () => out,
        stop: async () => {
          const url = match[1] ?? '';
          let leak: unknown;
          // A server the test killed is not asked.
          if (child.exitCode === null && child.signalCode === null && !child.killed) {
            await expectNoInfoHashLeak(url, {
              ...(adminToken !== undefined ? { adminToken } : {}),
              ...(options.get ? { get: options.get } : {}),
            }).catch((err: unknown) => {
              leak = err;
            });
          }
          if (child.exitCode === null) child.kill('SIGTERM');
          const code = await exited;
          if (leak) throw leak;
          return code;
        },
      });
    });
  });
}
