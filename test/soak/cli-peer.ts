/**
 * One CLI peer of the soak (a "slot"): a real `ringswarm` process, restarted with the same
 * --identity whenever it is killed. A seeder slot seeds one share for the whole run; a getter
 * slot loops: fetch a share, verify the saved bytes, seed them a while, delete, fetch again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type CliEvent, CliProcess } from '../helpers/cli-process.js';
import type { Share, SoakContext } from './context.js';
import { copyProblems, type ShareSource } from './shares.js';
import { tail, unexpectedExit } from './tally.js';

/** A `get` that has not finished after this long is a stall: reported, killed, started afresh. */
export const STALL_MS = 120_000;
/** How long a seeder may take to hash its files and print the link. */
const SEED_START_MS = 60_000;
/** After SIGTERM a process has this long to end before it gets SIGKILL (and counts as hung). */
const TERM_GRACE_MS = 15_000;
/** How long a getter seeds a finished download before it deletes it. */
const SEED_FOR_MIN_MS = 10_000;
const SEED_FOR_MAX_MS = 40_000;
/** Pause between a kill and the restart. */
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 4_000;
/** Lines of a peer's stderr in a crash or stall report (a Node stack trace fits). */
const STDERR_LINES = 40;
/** How often a wait looks at a process's events. */
const POLL_MS = 200;

/**
 * Starts the CLI in its own process group: a Ctrl-C in the terminal reaches the soak only, so
 * every signal a peer gets is one the soak sent (and counted).
 */
const ownGroup = (command: string, args: string[]): ChildProcess =>
  spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });

/** Every process the soak started and has not seen exit, for the last-resort cleanup. */
export const liveChildren = new Set<ChildProcess>();

/** One run of the CLI: the signals sent to it, and how it ended. */
class PeerRun {
  readonly proc: CliProcess;
  readonly sent = new Set<NodeJS.Signals>();
  readonly startedAt = Date.now();
  readonly exit: Promise<void>;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly slot: CliSlot,
    args: string[],
  ) {
    const { tally } = slot.ctx;
    this.proc = new CliProcess(args, ownGroup);
    const child = this.proc.child;
    liveChildren.add(child);
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        liveChildren.delete(child);
        clearTimeout(this.#graceTimer);
        const why = unexpectedExit(code, signal, this.sent);
        if (why) tally.crash(slot.name, `${args[0]} ${why}`, this.output());
        slot.checkIdentity(this.proc.events);
        resolve();
      });
    });
  }

  get alive(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  /** Sends `signal` (noted, so the exit it causes is not a crash); SIGTERM is followed by SIGKILL after the grace time. */
  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    this.sent.add(signal);
    this.proc.child.kill(signal);
    if (signal !== 'SIGTERM') return;
    clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => {
      if (!this.alive) return;
      const { tally } = this.slot.ctx;
      tally.termHangs++;
      tally.log(`HUNG ${this.slot.name}: still running ${TERM_GRACE_MS} ms after SIGTERM; SIGKILL\n${this.output()}`);
      this.signal('SIGKILL');
    }, TERM_GRACE_MS);
  }

  /** SIGTERM, then waits for the exit. */
  async terminate(): Promise<void> {
    this.signal('SIGTERM');
    await this.exit;
  }

  /** Stderr and the last events, for a crash or stall report. */
  output(): string {
    const events = this.proc.events
      .filter((e) => e.event !== 'progress' && e.event !== 'ring')
      .slice(-8)
      .map((e) => JSON.stringify(e));
    return `${tail(this.proc.stderr, STDERR_LINES)}\n(last events)\n${events.join('\n')}`;
  }

  /**
   * Waits for the first event matching, the exit, `ms`, or the end of the run; says which.
   * (CliProcess.next notices a death by signal only at its deadline, so this polls instead.)
   */
  async waitEvent(
    match: (e: CliEvent) => boolean,
    ms: number,
  ): Promise<{ kind: 'event'; event: CliEvent } | { kind: 'exit' | 'timeout' | 'stopping' }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const event = this.proc.events.find(match);
      if (event) return { kind: 'event', event };
      if (!this.alive) return { kind: 'exit' };
      if (this.slot.ctx.stopping) return { kind: 'stopping' };
      if (Date.now() >= deadline) return { kind: 'timeout' };
      await this.slot.ctx.sleep(POLL_MS);
    }
  }

  /** Waits for the exit or `ms`; true when the process exited. */
  async exitWithin(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (this.alive && !this.slot.ctx.stopping && Date.now() < deadline) await this.slot.ctx.sleep(POLL_MS);
    return !this.alive;
  }
}

export type SlotRole = { kind: 'seeder'; source: ShareSource } | { kind: 'getter' };

export class CliSlot {
  #run: PeerRun | null = null;
  /** The share this slot seeds or fetches. */
  share: Share | null = null;
  /** True while the running process holds the whole share (seeding it). */
  complete = false;
  /** The peer ID its identity file gave the first run that reported one. */
  peerId: string | null = null;
  readonly identity: string;
  readonly outDir: string;

  constructor(
    readonly ctx: SoakContext,
    readonly name: string,
    readonly role: SlotRole,
  ) {
    this.identity = join(ctx.root, 'identities', name, 'identity.json');
    this.outDir = join(ctx.root, 'downloads', name);
  }

  /** The pid of the running process, for RSS samples. */
  get pid(): number | undefined {
    return this.#run?.alive ? this.#run.proc.child.pid : undefined;
  }

  /**
   * Whether the kill schedule may kill this peer now: it runs, has not been signalled, and is
   * not the last running peer that holds its share whole (so every share stays fetchable).
   */
  killable(all: readonly CliSlot[]): boolean {
    const run = this.#run;
    if (!run?.alive || run.sent.size > 0) return false;
    if (!this.complete) return true;
    return all.some(
      (s) => s !== this && s.complete && s.share === this.share && s.#run?.alive && s.#run.sent.size === 0,
    );
  }

  /** What the slot is doing, for the end-of-run summary. */
  describe(): string {
    const run = this.#run;
    if (!run?.alive) return `${this.name}: not running`;
    const seconds = Math.round((Date.now() - run.startedAt) / 1000);
    const what = this.role.kind === 'seeder' ? 'seeding' : this.complete ? 'seeding its copy of' : 'fetching';
    const last = run.proc.events.findLast((e) => e.event === 'progress');
    const progress = last && !this.complete ? ` (${JSON.stringify(last)})` : '';
    return `${this.name}: ${what} ${this.share?.name ?? '?'} for ${seconds} s${progress}`;
  }

  kill(signal: 'SIGKILL' | 'SIGTERM'): void {
    this.#run?.signal(signal);
  }

  /** Compares the peer ID a run reported (ring events) with the slot's first one. */
  checkIdentity(events: readonly CliEvent[]): void {
    const reported = events.find((e) => (e.event === 'ring-joined' || e.event === 'ring') && typeof e.id === 'string');
    const id = typeof reported?.id === 'string' ? reported.id : null;
    if (id === null) return;
    if (this.peerId === null) this.peerId = id;
    else if (id !== this.peerId) {
      this.ctx.tally.idChanges++;
      this.ctx.tally.log(`ID CHANGE ${this.name}: restarted as ${id}, was ${this.peerId} (same --identity file)`);
    }
  }

  /** The slot's loop, until the run stops. */
  async run(): Promise<void> {
    await mkdir(this.outDir, { recursive: true });
    if (this.role.kind === 'seeder') await this.#seedLoop(this.role.source);
    else await this.#getLoop();
  }

  /** Ends the running process (SIGTERM, SIGKILL after the grace time) and waits for it. */
  async stop(): Promise<void> {
    await this.#run?.terminate();
  }

  #start(args: string[]): PeerRun {
    const run = new PeerRun(this, [...args, '--json', '--identity', this.identity]);
    this.#run = run;
    return run;
  }

  async #restartPause(): Promise<void> {
    this.complete = false;
    await this.ctx.sleep(this.ctx.random.int(RESTART_MIN_MS, RESTART_MAX_MS));
    if (!this.ctx.stopping) this.ctx.tally.restarts++;
  }

  async #seedLoop(source: ShareSource): Promise<void> {
    const { tally } = this.ctx;
    while (!this.ctx.stopping) {
      const run = this.#start(['seed', source.disk, '--tracker', this.ctx.trackerUrl]);
      const started = await run.waitEvent((e) => e.event === 'seeding', SEED_START_MS);
      if (started.kind === 'event') {
        const link = String(started.event.link);
        if (this.share === null) {
          this.share = { name: String(started.event.name), link, files: source.files };
          this.ctx.shares.push(this.share);
        } else if (link !== this.share.link) {
          tally.log(`WARNING ${this.name}: reseeding gave another link (${link}, was ${this.share.link})`);
        }
        this.complete = true;
        await run.exitWithin(Number.POSITIVE_INFINITY);
      } else if (started.kind === 'timeout') {
        tally.stall(this.name, `seed printed no link within ${SEED_START_MS} ms`, run.output());
        run.signal('SIGKILL');
        await run.exit;
      }
      if (this.ctx.stopping) return;
      await this.#restartPause();
    }
  }

  async #getLoop(): Promise<void> {
    const { tally, random } = this.ctx;
    let resume = false;
    while (!this.ctx.stopping) {
      if (!resume || this.share === null) {
        this.share = random.pick(this.ctx.shares);
        await rm(this.outDir, { recursive: true, force: true });
        await mkdir(this.outDir, { recursive: true });
      }
      const share = this.share;
      const run = this.#start(['get', share.link, '--out', this.outDir]);
      const done = await run.waitEvent((e) => e.event === 'done', STALL_MS);
      if (done.kind !== 'event') {
        if (done.kind === 'stopping') return;
        if (done.kind === 'timeout') {
          tally.stall(this.name, `get of ${share.name} not done after ${STALL_MS} ms`, run.output());
          run.signal('SIGKILL');
          await run.exit;
          resume = false;
          continue;
        }
        // Killed by the schedule (or crashed, counted on exit): come back and resume.
        resume = true;
        await this.#restartPause();
        continue;
      }
      const problems = await copyProblems(this.outDir, share.files);
      if (problems.length > 0) tally.corruptCopy(`${this.name} (${share.name})`, problems);
      else if (Number(done.event.downloaded) > 0) {
        tally.downloadsCli++;
        tally.downloadSeconds.push(Number(done.event.seconds));
      } else tally.rechecks++;
      this.complete = run.alive;
      const exited = await run.exitWithin(random.int(SEED_FOR_MIN_MS, SEED_FOR_MAX_MS));
      this.complete = false;
      if (this.ctx.stopping) return;
      if (exited) {
        resume = true;
        await this.#restartPause();
        continue;
      }
      // Seeded long enough: stop, delete, fetch another share.
      await run.terminate();
      resume = false;
    }
  }
}
