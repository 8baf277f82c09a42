/**
 * Who we upload to. {@link chooseUnchoked} is pure: {@link ChokeRounds} calls it every choke
 * round with its peers' state, and sends the chokes and unchokes that follow.
 * Up to `slots` interested peers are unchoked, best first: while downloading, those that
 * give us the most (tit for tat); while seeding, those that take the most (fast
 * spreaders). One more "optimistic" slot goes to a peer outside that set, rotated every
 * few rounds, so newcomers get a chance to prove themselves.
 *
 * A peer that waits for a manifest chunk from us counts as interested: it wants something we
 * have, and it cannot say "interested" before it knows the manifest. A manifest answer is an
 * upload like a block (it goes through the same limits), so it gets the same slots; a lone
 * seeder has slots free and unchokes a new leecher on its first request.
 */

import type { Clock } from '../util/clock.js';
import type { PeerWire } from './peer-wire.js';

/** Regular upload slots. */
export const UPLOAD_SLOTS = 4;
/** Milliseconds between choke rounds. */
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

/**
 * The choke rounds of one swarm: a full round every {@link CHOKE_INTERVAL_MS} while any peer
 * is connected (rotating the optimistic slot every {@link OPTIMISTIC_ROUNDS}), and a quick
 * one whenever a peer's interest changes or an unchoked peer leaves.
 */
export class ChokeRounds {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #peers: ReadonlyMap<string, PeerWire>;
  readonly #seeding: () => boolean;
  readonly #unchoked: (wire: PeerWire) => void;
  #timer: unknown = null;
  #round = 0;
  #optimistic: string | null = null;
  #destroyed = false;

  /**
   * @param peers every connected peer, in connection order
   * @param seeding true while we have every piece (rank by upload rate, not download rate)
   * @param unchoked called for each peer this swarm just unchoked (to send what it waits for)
   */
  constructor(
    deps: { clock: Clock; random: () => number },
    peers: ReadonlyMap<string, PeerWire>,
    seeding: () => boolean,
    unchoked: (wire: PeerWire) => void = () => {},
  ) {
    this.#clock = deps.clock;
    this.#random = deps.random;
    this.#peers = peers;
    this.#seeding = seeding;
    this.#unchoked = unchoked;
  }

  /** Starts the timed rounds unless they run; they stop by themselves when no peer is left. */
  start(): void {
    if (this.#timer !== null || this.#destroyed) return;
    const round = () => {
      this.#timer = null;
      if (this.#destroyed || this.#peers.size === 0) return;
      this.rechoke(true);
      this.#timer = this.#clock.setTimeout(round, CHOKE_INTERVAL_MS);
    };
    this.#timer = this.#clock.setTimeout(round, CHOKE_INTERVAL_MS);
  }

  /**
   * Recomputes who we upload to, and tells the peers whose state changed.
   * @param fullRound a timed round, which may rotate the optimistic slot
   */
  rechoke(fullRound: boolean): void {
    if (this.#destroyed) return;
    if (fullRound && ++this.#round % OPTIMISTIC_ROUNDS === 0) this.#optimistic = null;
    const peers = [...this.#peers.values()]
      .filter((w) => w.handshaken)
      .map((w) => ({
        id: w.remoteId,
        interested: w.peerInterested || w.metadataWanted !== null,
        downloadRate: w.downloadMeter.rate(),
        uploadRate: w.uploadMeter.rate(),
      }));
    const { unchoked, optimistic } = chooseUnchoked(
      peers,
      this.#seeding(),
      UPLOAD_SLOTS,
      this.#optimistic,
      (eligible) => (eligible.length === 0 ? null : eligible[Math.floor(this.#random() * eligible.length)]!),
    );
    this.#optimistic = optimistic;
    for (const wire of [...this.#peers.values()]) {
      if (!wire.handshaken) continue;
      const wasChoking = wire.amChoking;
      wire.setChoking(!unchoked.has(wire.remoteId));
      if (wasChoking && !wire.amChoking) this.#unchoked(wire);
    }
  }

  /** Stops the rounds. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
