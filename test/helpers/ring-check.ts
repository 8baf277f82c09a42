import type { RingStats } from '@ringswarm/shared';

/**
 * Checks a set of ring views against the sorted list of the members' IDs: every member
 * joined, its successor is the next ID clockwise, its predecessor the one before. Returns
 * what is wrong (empty when the ring is correct).
 */
export function ringProblems(views: readonly RingStats[]): string[] {
  const ids = views.map((v) => v.id).sort();
  const problems: string[] = [];
  for (const v of views) {
    const i = ids.indexOf(v.id);
    const next = ids[(i + 1) % ids.length];
    const prev = ids[(i - 1 + ids.length) % ids.length];
    const short = v.id.slice(0, 6);
    if (!v.joined) problems.push(`${short} not joined`);
    if (ids.length === 1) continue;
    if (v.successors[0] !== next)
      problems.push(`${short} successor ${v.successors[0]?.slice(0, 6)} != ${next?.slice(0, 6)}`);
    if (v.predecessor !== prev)
      problems.push(`${short} predecessor ${v.predecessor?.slice(0, 6)} != ${prev?.slice(0, 6)}`);
  }
  return problems;
}
