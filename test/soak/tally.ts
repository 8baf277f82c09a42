/**
 * The soak's books: downloads, corrupt copies, crashes (each printed with what the process
 * last wrote), stalls, and what the schedule did. One instance per run, shared by every loop.
 */

/** The last `lines` lines of a process's output. */
export function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Why an exit counts as a crash, or null when it does not: a signal the soak did not send,
 * or a non-zero code it did not cause (130 after SIGTERM/SIGINT is the CLI's "stopped").
 */
export function unexpectedExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  sent: ReadonlySet<NodeJS.Signals>,
): string | null {
  if (signal !== null) return sent.has(signal) ? null : `killed by ${signal}, which the soak did not send`;
  if (code === 0) return null;
  if (code === 130 && (sent.has('SIGTERM') || sent.has('SIGINT'))) return null;
  const after = sent.size > 0 ? ` after ${[...sent].join(' and ')}` : '';
  return `exit code ${code}${after}`;
}

export class Tally {
  readonly started = Date.now();
  downloadsCli = 0;
  downloadsPages = 0;
  /** Restarts that found every piece on disk already: verified, not counted as downloads. */
  rechecks = 0;
  corrupt = 0;
  crashes = 0;
  stalls = 0;
  kills: Record<'SIGKILL' | 'SIGTERM', number> = { SIGKILL: 0, SIGTERM: 0 };
  restarts = 0;
  reloads = 0;
  /** Processes that did not end within the grace time after SIGTERM and were killed. */
  termHangs = 0;
  /** Page steps that failed without a crash (a save that never came…): the page started over. */
  pageFailures = 0;
  /** Restarts of a CLI peer that came back with another peer ID than its --identity file holds. */
  idChanges = 0;

  /** Seconds each counted download took (CLI: its own figure; pages: from opening the link to the last save link). */
  readonly downloadSeconds: number[] = [];
  /** One line per crash, for the report. */
  readonly crashList: string[] = [];

  get downloads(): number {
    return this.downloadsCli + this.downloadsPages;
  }

  /** Seconds since the start, for log lines. */
  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)}s`;
  }

  log(line: string): void {
    process.stderr.write(`[soak +${this.elapsed()}] ${line}\n`);
  }

  /** Counts and prints a crash; `output` is what the process last wrote (kept short by the caller). */
  crash(who: string, what: string, output: string): void {
    this.crashes++;
    this.crashList.push(`+${this.elapsed()} ${who}: ${what}`);
    this.log(`CRASH ${who}: ${what}\n--- last output of ${who} ---\n${output}\n---`);
  }

  corruptCopy(who: string, problems: readonly string[]): void {
    this.corrupt++;
    this.log(`CORRUPT download by ${who}: ${problems.join('; ')}`);
  }

  stall(who: string, what: string, output: string): void {
    this.stalls++;
    this.log(`STALL ${who}: ${what}\n--- last output of ${who} ---\n${output}\n---`);
  }
}
