/** The discrete-event core: a virtual clock and a binary heap of events ordered by (time, seq). */
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

  cancel(ev: SimEvent): void {
    ev.cancelled = true;
  }

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
