/**
 * Who we upload to. Pure: the swarm calls it every choke round with its peers' state.
 * Up to `slots` interested peers are unchoked, best first: while downloading, those that
 * give us the most (tit for tat); while seeding, those that take the most (fast
 * spreaders). One more "optimistic" slot goes to a peer outside that set, rotated every
 * few rounds, so newcomers get a chance to prove themselves.
 */

/** Regular upload slots. */
export const UPLOAD_SLOTS = 4;
/** Seconds between choke rounds. */
export const CHOKE_INTERVAL_MS = 10_000;
/** Rounds an optimistic unchoke lasts. */
export const OPTIMISTIC_ROUNDS = 3;

export interface ChokeCandidate {
  id: string;
  interested: boolean;
  /** Bytes per second it sends us. */
  downloadRate: number;
  /** Bytes per second we send it. */
  uploadRate: number;
}

/**
 * The set of peers to unchoke this round.
 * @param optimistic the current optimistic peer, kept if still eligible
 * @param pickOptimistic chooses among eligible peers when a new optimistic peer is due
 */
export function chooseUnchoked(
  peers: ChokeCandidate[],
  seeding: boolean,
  slots: number,
  optimistic: string | null,
  pickOptimistic: (eligible: string[]) => string | null,
): { unchoked: Set<string>; optimistic: string | null } {
  const interested = peers.filter((p) => p.interested);
  const score = (p: ChokeCandidate) => (seeding ? p.uploadRate : p.downloadRate);
  const ranked = [...interested].sort((a, b) => score(b) - score(a) || (a.id < b.id ? -1 : 1));
  const unchoked = new Set(ranked.slice(0, slots).map((p) => p.id));
  const eligible = interested.filter((p) => !unchoked.has(p.id)).map((p) => p.id);
  let next = optimistic !== null && eligible.includes(optimistic) ? optimistic : null;
  if (next === null) next = pickOptimistic(eligible);
  if (next !== null) unchoked.add(next);
  return { unchoked, optimistic: next };
}
