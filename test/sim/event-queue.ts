/** The discrete-event core: a virtual clock and a binary heap of events ordered by (time, seq). */
import type { Clock } from '@ringswarm/shared';

export interface SimEvent {
  time: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  #heap: SimEvent[] = [];
  #seq = 0;
  #now = 0;
  /** Events run so far. */
  executed = 0;

  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `run` after `delay` ms of virtual time (events at one time run in order). */
  schedule(delay: number, run: () => void): SimEvent {
    const ev: SimEvent = { time: this.#now + Math.max(0, delay), seq: this.#seq++, run, cancelled: false };
    const h = this.#heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(ev, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = ev;
    return ev;
  }

  /** Cancels an event; a null handle (a timer never set) is ignored, as clearTimeout ignores it. */
  cancel(ev: SimEvent | null): void {
    if (ev) ev.cancelled = true;
  }

  /** The virtual clock as the code under test sees it: its time and its timers. */
  readonly clock: Clock = {
    now: () => this.#now,
    setTimeout: (callback: () => void, ms: number): unknown => this.schedule(ms, callback),
    clearTimeout: (handle: unknown): void => this.cancel(handle as SimEvent | null),
  };

  /** Runs events until the clock would pass `until` (or the queue is empty); the clock ends at `until`. */
  runUntil(until: number): void {
    const h = this.#heap;
    while (h.length > 0 && h[0]!.time <= until) {
      const ev = this.#pop();
      if (ev.cancelled) continue;
      this.#now = ev.time;
      this.executed++;
      ev.run();
    }
    if (until > this.#now) this.#now = until;
  }

  /** Runs until no event is left or `limit` is reached; returns true when the queue drained. */
  runAll(limit = Number.POSITIVE_INFINITY): boolean {
    const h = this.#heap;
    while (h.length > 0) {
      if (h[0]!.time > limit) return false;
      const ev = this.#pop();
      if (ev.cancelled) continue;
      this.#now = ev.time;
      this.executed++;
      ev.run();
    }
    return true;
  }

  #pop(): SimEvent {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * A one-way latency fixed per pair of nodes, from 32 bits of each ID (lower one first) and a
 * per-network salt, spread over [min, max] ms.
 */
export function pairLatencyMs(salt: number, lo: number, hi: number, min: number, max: number): number {
  let h = salt ^ lo;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ hi;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  h = (h ^ (h >>> 15)) >>> 0;
  return min + (h / 4294967296) * (max - min);
}
