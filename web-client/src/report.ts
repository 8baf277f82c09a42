/**
 * "Report this link": a small form on the download view that sends the share's discovery key
 * and a reason to the server's rate-limited report endpoint (`POST /api/report`). The
 * infohash never leaves the page: the operator learns which swarm was reported, not the link.
 */
import { discoveryKeyOf, MAX_REPORT_REASON_CHARS, type ReportRequest, ReportRequestSchema } from '@ringswarm/shared';
import { $ } from './dom.js';

/** Gives up on the server's answer after this long. */
export const REPORT_TIMEOUT_MS = 10_000;

/** What became of a report: stable names, also the form's `data-result`. */
export type ReportOutcome = 'sent' | 'rate-limited' | 'error';

export interface ReportResult {
  outcome: ReportOutcome;
  /** What to tell the person. */
  message: string;
}

/**
 * The request for reporting the share `infoHash` with `reason`, checked by the schema the
 * server checks it with (reason trimmed, 1 to {@link MAX_REPORT_REASON_CHARS} characters);
 * null when the server would refuse it.
 */
export function reportRequestOf(infoHash: string, reason: string): ReportRequest | null {
  const parsed = ReportRequestSchema.safeParse({ discoveryKey: discoveryKeyOf(infoHash), reason });
  return parsed.success ? parsed.data : null;
}

/** The server's answer, by status: 202 sent, 429 rate limited, anything else an error said in words. */
export function reportResultOf(status: number): ReportResult {
  if (status === 202 || status === 200) {
    return { outcome: 'sent', message: 'Reported. The operator of this server can now look at this share.' };
  }
  if (status === 429) {
    return { outcome: 'rate-limited', message: 'Too many reports from this address, try later.' };
  }
  if (status === 400) return { outcome: 'error', message: 'The server did not accept this report.' };
  if (status === 413) return { outcome: 'error', message: 'The reason is too long for the server.' };
  if (status === 404) return { outcome: 'error', message: 'This server takes no reports.' };
  return { outcome: 'error', message: `The server could not take the report (HTTP ${status}).` };
}

/** Posts a report (the share named by its discovery key, and the reason). */
export async function sendReport(report: ReportRequest): Promise<ReportResult> {
  try {
    const res = await fetch('/api/report', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(report),
      cache: 'no-store',
      signal: AbortSignal.timeout(REPORT_TIMEOUT_MS),
    });
    return reportResultOf(res.status);
  } catch (err) {
    return { outcome: 'error', message: `Could not reach the server: ${(err as Error).message}` };
  }
}

/** The report button and its form, for the share being downloaded. */
export class ReportForm {
  readonly #ui = {
    open: $<HTMLButtonElement>('report-open'),
    form: $<HTMLFormElement>('report-form'),
    reason: $<HTMLTextAreaElement>('report-reason'),
    send: $<HTMLButtonElement>('report-send'),
    cancel: $<HTMLButtonElement>('report-cancel'),
    result: $('report-result'),
  };

  constructor(infoHash: string) {
    const ui = this.#ui;
    ui.reason.maxLength = MAX_REPORT_REASON_CHARS;
    ui.open.addEventListener('click', () => this.#toggle(ui.form.hidden));
    ui.cancel.addEventListener('click', () => this.#toggle(false));
    ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#submit(infoHash);
    });
  }

  #toggle(open: boolean): void {
    const ui = this.#ui;
    ui.form.hidden = !open;
    ui.open.setAttribute('aria-expanded', String(open));
    if (open) {
      ui.result.textContent = '';
      delete ui.result.dataset.result;
      ui.reason.focus();
    }
  }

  async #submit(infoHash: string): Promise<void> {
    const ui = this.#ui;
    const report = reportRequestOf(infoHash, ui.reason.value);
    if (report === null) {
      this.#show({ outcome: 'error', message: `Say why, in 1 to ${MAX_REPORT_REASON_CHARS} characters.` });
      ui.reason.focus();
      return;
    }
    ui.send.disabled = true;
    ui.result.textContent = 'Sending the report…';
    delete ui.result.dataset.result;
    const result = await sendReport(report);
    ui.send.disabled = false;
    this.#show(result);
    if (result.outcome === 'sent') {
      ui.reason.value = '';
      this.#toggle(false);
    }
  }

  #show(result: ReportResult): void {
    this.#ui.result.textContent = result.message;
    this.#ui.result.dataset.result = result.outcome;
  }
}
