import { type RingMessage, RingNode, type RingNodeDeps, type RingNodeOptions } from '@ringswarm/shared';

/** A hand-driven clock and an outbox: the node's whole world, inspected message by message. */
export class Harness {
  now = 0;
  #timers = new Map<number, { at: number; run: () => void }>();
  #next = 1;
  readonly outbox: { to: bigint; msg: RingMessage }[] = [];
  readonly node: RingNode;

  constructor(id: bigint, options: RingNodeOptions = {}, deps: Partial<RingNodeDeps> = {}) {
    this.node = new RingNode(
      {
        ...deps,
        id,
        send: (to, msg) => this.outbox.push({ to, msg }),
        clock: {
          now: () => this.now,
          setTimeout: (run, ms) => {
            const h = this.#next++;
            this.#timers.set(h, { at: this.now + ms, run });
            return h;
          },
          clearTimeout: (h) => this.#timers.delete(h as number),
        },
        random: () => 0.5,
      },
      { bits: 8, successors: 2, maintenance: false, ...options },
    );
  }

  get pendingTimers(): number {
    return this.#timers.size;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let best: [number, { at: number; run: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= until && (!best || e[1].at < best[1].at)) best = e;
      if (!best) break;
      this.#timers.delete(best[0]);
      this.now = best[1].at;
      best[1].run();
    }
    this.now = until;
  }

  /** Removes and returns the messages sent so far. */
  take(): { to: bigint; msg: RingMessage }[] {
    return this.outbox.splice(0);
  }
}

/** A message's request id (-1 for a notice). */
export const rid = (m: RingMessage) => ('rid' in m ? m.rid : -1);
