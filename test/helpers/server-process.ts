import { type ChildProcess, spawn } from 'node:child_process';
import { repoPath } from './repo-path.js';

const MAIN = repoPath('signaling-server/dist/main.js');

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
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
export function startServerProcess(args: string[] = [], spawner: Spawner = spawnPiped): Promise<ServerProcess> {
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
        stop: () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}
