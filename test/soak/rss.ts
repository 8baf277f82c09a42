import { readFileSync } from 'node:fs';

/** Resident set size of a live process in MiB (VmRSS in /proc/<pid>/status); null once it is gone. */
export function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  return kb === undefined ? null : Number(kb) / 1024;
}

/** Rounds MiB to one decimal for the report. */
export const mb = (value: number): number => Math.round(value * 10) / 10;
