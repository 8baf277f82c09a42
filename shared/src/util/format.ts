/** Human-readable sizes, rates and durations, for the page and the terminal alike. */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB" */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Seconds -> "1 min 5 s"; "—" when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** plural(1, 'peer') -> "1 peer", plural(3, 'peer') -> "3 peers" (regular English plurals only). */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One end of a connection's selected candidate pair (a `CandidateInfo` of net/peer-link.ts). */
export interface PairEnd {
  type: string;
  address: string;
  port: number;
  protocol: string;
}

/** True when the connection's packets go through a TURN server. */
export function isRelayed(pair: { local: PairEnd; remote: PairEnd }): boolean {
  return pair.local.type === 'relay' || pair.remote.type === 'relay';
}

/**
 * How a connection gets through, this side first, for the page's tooltip and the CLI alike:
 * "direct: srflx 203.0.113.10:40000 <-> srflx 203.0.113.20:40001 (udp)", or
 * "relayed through TURN: …" when either end is a relay candidate. IPv6 addresses are bracketed.
 */
export function describePair(pair: { local: PairEnd; remote: PairEnd }): string {
  const end = (c: PairEnd) => `${c.type} ${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`;
  const how = isRelayed(pair) ? 'relayed through TURN' : 'direct';
  return `${how}: ${end(pair.local)} <-> ${end(pair.remote)} (${pair.local.protocol})`;
}
