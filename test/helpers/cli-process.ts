import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from './repo-path.js';

const CLI = repoPath('cli/dist/main.js');

/** Commands that run a peer, and so keep an identity file. */
const PEER_COMMANDS = new Set(['seed', 'get', 'ring', 'search']);
let identityRoot: string | undefined;
/** Identity folders of CLI processes still running; the root goes with the last one. */
let liveIdentities = 0;

/**
 * Each CLI process its own identity file in a temp folder, unless the test passes
 * `--identity` itself: many CLI processes at once would otherwise share the user's one file,
 * all but one on a fresh ID with a warning, and tests would write to the real ~/.config.
 * Returns the arguments and what removes the folder once the process has exited (the root
 * goes with the last, so nothing is left even when the test process is killed later).
 */
export function withOwnIdentity(args: string[]): { args: string[]; release: () => void } {
  if (!PEER_COMMANDS.has(args[0] ?? '') || args.includes('--identity')) return { args, release: () => {} };
  if (!identityRoot) {
    const root = mkdtempSync(join(tmpdir(), 'ringswarm-identities-'));
    identityRoot = root;
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  const root = identityRoot;
  const dir = mkdtempSync(join(root, 'peer-'));
  liveIdentities++;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    rmSync(dir, { recursive: true, force: true });
    if (--liveIdentities === 0 && identityRoot === root) {
      rmSync(root, { recursive: true, force: true });
      identityRoot = undefined;
    }
  };
  return { args: [...args, '--identity', join(dir, 'identity.json')], release };
}

export interface CliEvent {
  event: string;
  [key: string]: unknown;
}

/** The `ringswarm` command as a child process, its JSON events collected as they come. */
export class CliProcess {
  readonly child: ChildProcess;
  readonly events: CliEvent[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];

  /** `spawner` starts the command some other way (e.g. inside a network namespace). */
  constructor(
    args: string[],
    spawner: (command: string, args: string[]) => ChildProcess = (command, a) =>
      spawn(command, a, { stdio: ['ignore', 'pipe', 'pipe'] }),
  ) {
    const own = withOwnIdentity(args);
    this.child = spawner(process.execPath, [CLI, ...own.args]);
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        this.events.push(JSON.parse(line) as CliEvent);
        for (const w of this.#waiters.splice(0)) w();
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        own.release();
        resolve(code);
      }),
    );
    void this.exited.then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Resolves with the first event matching; rejects if the process exits first or time runs out. */
  async next(match: (e: CliEvent) => boolean, ms = 60_000, what = 'an event'): Promise<CliEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (this.child.exitCode !== null) {
        throw new Error(`ringswarm exited (${this.child.exitCode}) before ${what}; stderr: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Stops the process (SIGTERM unless told otherwise) and waits for it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Runs `ringswarm` to completion and returns its exit code and output. */
export async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const own = withOwnIdentity(args);
  const child = spawn(process.execPath, [CLI, ...own.args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  own.release();
  return { code, stdout, stderr };
}
