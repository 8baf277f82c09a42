import type { RingStats } from '@ringswarm/shared';

/**
 * Checks a set of ring views against the sorted list of the members' IDs: every member
 * joined, its successor is the next member clockwise, its predecessor the one before. A leaf
 * (a peer attached to the ring through a member, see the overlay's `role`) is checked too:
 * its gateway is the member just before its ID, through which it routes everything (its own
 * successor list is a copy of the gateway's, refreshed each minute: a hint, not checked).
 * Returns what is wrong (empty when the ring is correct).
 */
export function ringProblems(views: readonly RingStats[]): string[] {
  const ids = views
    .filter((v) => !v.leaf)
    .map((v) => v.id)
    .sort();
  const problems: string[] = [];
  const short = (id: string | null | undefined) => id?.slice(0, 6);
  for (const v of views) {
    if (!v.joined) problems.push(`${short(v.id)} not joined`);
    if (v.leaf) {
      const after = ids.findIndex((id) => id > v.id);
      const prev = ids[((after === -1 ? ids.length : after) - 1 + ids.length) % ids.length];
      if (v.gateway !== prev) problems.push(`${short(v.id)} (a leaf) gateway ${short(v.gateway)} != ${short(prev)}`);
      continue;
    }
    const i = ids.indexOf(v.id);
    const next = ids[(i + 1) % ids.length];
    const prev = ids[(i - 1 + ids.length) % ids.length];
    if (ids.length === 1) continue;
    if (v.successors[0] !== next) problems.push(`${short(v.id)} successor ${short(v.successors[0])} != ${short(next)}`);
    if (v.predecessor !== prev) problems.push(`${short(v.id)} predecessor ${short(v.predecessor)} != ${short(prev)}`);
  }
  return problems;
}
