/**
 * What the CLI prints: a progress line on a terminal, or one JSON object per line for
 * scripts (`--json`). Errors go to stderr either way.
 */

export class Output {
  #lastLine = 0;

  constructor(
    readonly json: boolean,
    readonly tty = process.stdout.isTTY === true,
  ) {}

  /** A JSON event, or a plain line for people. */
  event(event: string, fields: Record<string, unknown>, text?: string): void {
    if (this.json) {
      process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
    } else if (text !== undefined) {
      this.#clearStatus();
      process.stdout.write(`${text}\n`);
    }
  }

  /** A status line that replaces the previous one on a terminal (at most twice a second elsewhere). */
  status(text: string, fields: Record<string, unknown>, event = 'progress'): void {
    if (this.json) {
      this.event(event, fields);
      return;
    }
    if (this.tty) {
      process.stdout.write(`\r\x1b[2K${text}`);
      this.#lastLine = text.length;
    } else {
      process.stdout.write(`${text}\n`);
    }
  }

  warn(code: string, message: string): void {
    if (this.json) this.event('warning', { code, message });
    else {
      this.#clearStatus();
      process.stderr.write(`warning: ${message}\n`);
    }
  }

  error(code: string, message: string): void {
    this.#clearStatus();
    if (this.json) process.stdout.write(`${JSON.stringify({ event: 'error', code, message })}\n`);
    process.stderr.write(`ringswarm: ${message}\n`);
  }

  #clearStatus(): void {
    if (this.tty && this.#lastLine > 0) {
      process.stdout.write('\r\x1b[2K');
      this.#lastLine = 0;
    }
  }
}

/** "[#######.............]  35.2%" */
export function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%`;
}
