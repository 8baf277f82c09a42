/**
 * The last ring lookup, drawn on the ring panel hop by hop as its observer is told: each
 * answered FIND is an arrow from the node asked to the node its answer pointed to, the key is
 * a tick on the circle and the owner a halo, with an arc from the key clockwise to it. The
 * same hops go in a text list (an aria-live region). The trace stays until the next lookup.
 */
import type { RingLookupHop, RingLookupObserver, RingLookupResult, RingSpace } from '@ringswarm/shared';
import { shortId } from '../dom.js';
import { point, RING_RADIUS, svg, titled, turnOf } from './ring.js';

/** What a trace needs of the ring its lookup runs in (the page's Overlay has both). */
export interface TracedRing {
  /** This peer's ring ID, as hex. */
  readonly peerId: string;
  readonly space: RingSpace;
}

/** The trace's `data-state`. */
export type LookupTraceState = 'idle' | 'running' | 'done' | 'failed';

export interface LookupTraceUi {
  /** Holds the summary and the hop list; carries `data-state`, and `data-hops` once the lookup ended. */
  box: HTMLElement;
  summary: HTMLElement;
  list: HTMLOListElement;
}

const ARROW_ID = 'ring-hop-arrow';
/** How far a hop's arrow stops short of the node it points to, so that its head is not under the dot. */
const ARROW_GAP = 6;
const NODE_RADIUS = 4.5;
/** The owner's halo, around the largest dot (this peer's, 6). */
const OWNER_RADIUS = 9;

const hopsText = (n: number): string => (n === 1 ? '1 hop' : `${n} hops`);

export class LookupTrace {
  readonly #ui: LookupTraceUi;
  readonly #marks = svg('g', {});
  readonly #hops = svg('g', {});
  readonly #nodes = svg('g', {});
  /** The dot of each node drawn, by hex ID, so each node is drawn once. */
  readonly #dots = new Map<string, SVGCircleElement>();
  /** Counts lookups begun, so that only the latest one draws. */
  #generation = 0;

  /** @param layer the ring panel's lookup layer (RingPanel.lookupLayer) */
  constructor(layer: SVGGElement, ui: LookupTraceUi) {
    this.#ui = ui;
    const marker = svg('marker', {
      id: ARROW_ID,
      viewBox: '0 0 10 10',
      refX: 8,
      refY: 5,
      markerWidth: 5,
      markerHeight: 5,
      orient: 'auto',
    });
    marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'ring-hop-arrowhead' }));
    const defs = svg('defs', {});
    defs.append(marker);
    layer.append(defs, this.#marks, this.#hops, this.#nodes);
    this.#state(
      'idle',
      'No lookup yet. Look up a key, or search for a file name: its lookup is drawn here hop by hop.',
    );
  }

  /**
   * Clears the last trace and starts one for a lookup of `what` (for the text: "key 1a2b3c4d",
   * "the file name notes.txt") run by this peer in `ring`; returns the lookup's observer.
   */
  begin(what: string, ring: TracedRing): RingLookupObserver {
    const generation = ++this.#generation;
    const live = () => generation === this.#generation;
    const hex = (id: bigint) => ring.space.toHex(id);
    for (const g of [this.#marks, this.#hops, this.#nodes]) g.replaceChildren();
    this.#dots.clear();
    this.#ui.list.replaceChildren();
    this.#ui.box.removeAttribute('data-hops');
    this.#state('running', `Looking up ${what}…`);
    let key: string | null = null;
    return {
      start: (k) => {
        if (!live()) return;
        key = hex(k);
        this.#drawKey(key);
        this.#state('running', `Looking up ${what} (key ${shortId(key)}) from this peer, ${shortId(ring.peerId)}…`);
      },
      hop: (hop) => {
        if (live()) this.#drawHop(hop, hex, ring.peerId);
      },
      end: (result) => {
        if (live()) this.#end(what, result, hex, ring.peerId, key);
      },
    };
  }

  #drawHop(hop: RingLookupHop, hex: (id: bigint) => string, self: string): void {
    const from = hex(hop.from);
    const to = hop.to === null ? null : hex(hop.to);
    const text = `hop ${hop.index}: ${shortId(from)} → ${to === null ? 'no closer node' : shortId(to)}${
      hop.done ? ' (named as the owner)' : ''
    }`;
    // This peer asks every node itself (an iterative lookup): the first ask is drawn dashed.
    if (hop.index === 1) this.#ask(self, from, `this peer asks ${shortId(from)} first`);
    const a = point(from);
    let drawn: SVGElement;
    if (to === null || to === from) {
      // No node to point to: it knew none closer, or (done) it owns the key itself.
      drawn = svg('circle', { cx: a.x, cy: a.y, r: NODE_RADIUS + 2.5, class: 'ring-hop ring-hop-here' });
    } else {
      const b = point(to);
      const length = Math.hypot(b.x - a.x, b.y - a.y);
      const cut = length > 2 * ARROW_GAP ? ARROW_GAP / length : 0;
      drawn = svg('line', {
        x1: a.x,
        y1: a.y,
        x2: b.x - (b.x - a.x) * cut,
        y2: b.y - (b.y - a.y) * cut,
        class: 'ring-hop',
        'marker-end': `url(#${ARROW_ID})`,
      });
      this.#dot(to);
    }
    drawn.setAttribute('data-hop', String(hop.index));
    this.#hops.append(titled(drawn, text));
    this.#dot(from);
    const li = document.createElement('li');
    li.textContent = text;
    this.#ui.list.append(li);
  }

  #end(what: string, result: RingLookupResult, hex: (id: bigint) => string, self: string, key: string | null): void {
    this.#ui.box.dataset.hops = String(result.hops);
    const silent = result.timeouts === 0 ? '' : `; ${result.timeouts} did not answer`;
    if (result.owner === null) {
      const why = result.error?.message ?? 'no owner found';
      this.#state('failed', `The lookup of ${what} failed after ${hopsText(result.hops)}${silent}: ${why}.`);
      return;
    }
    const owner = hex(result.owner);
    if (key !== null) this.#drawOwnerArc(key, owner);
    const halo = svg('circle', { ...xy(point(owner)), r: OWNER_RADIUS, class: 'ring-hop-owner' });
    this.#nodes.append(titled(halo, `owner ${shortId(owner)}`));
    let how = '';
    if (owner === self) how = ': this peer holds the key itself';
    else if (result.hops === 0) {
      how = ': this peer knew it from its successor list and only checked that it answers';
      this.#ask(self, owner, `this peer asks ${shortId(owner)}, its successor, directly`);
    }
    const who = owner === self ? `${shortId(owner)} (this peer)` : shortId(owner);
    this.#state('done', `Owner of ${what}: ${who}, found in ${hopsText(result.hops)}${silent}${how}.`);
  }

  /** The dashed line of a request this peer sends. */
  #ask(from: string, to: string, text: string): void {
    const a = point(from);
    const b = point(to);
    const line = svg('line', { x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: 'ring-hop-ask', 'data-lookup-ask': '' });
    this.#marks.append(titled(line, text));
  }

  #drawKey(key: string): void {
    const inner = point(key, RING_RADIUS - 6);
    const outer = point(key, RING_RADIUS + 9);
    const tick = svg('line', { x1: inner.x, y1: inner.y, x2: outer.x, y2: outer.y, class: 'ring-key' });
    this.#marks.append(titled(tick, `key ${shortId(key)}`));
  }

  /** The arc the owner is responsible for, from the key clockwise to the owner (the key's successor). */
  #drawOwnerArc(key: string, owner: string): void {
    const span = (turnOf(owner) - turnOf(key) + 1) % 1;
    if (span === 0) return;
    const a = point(key);
    const b = point(owner);
    const large = span > 0.5 ? 1 : 0;
    const d = `M ${a.x} ${a.y} A ${RING_RADIUS} ${RING_RADIUS} 0 ${large} 1 ${b.x} ${b.y}`;
    this.#marks.append(titled(svg('path', { d, class: 'ring-key-arc' }), `from key ${shortId(key)} to its owner`));
  }

  #dot(id: string): void {
    if (this.#dots.has(id)) return;
    const dot = titled(
      svg('circle', { ...xy(point(id)), r: NODE_RADIUS, class: 'ring-dot ring-hop-node' }),
      shortId(id),
    );
    this.#dots.set(id, dot);
    this.#nodes.append(dot);
  }

  #state(state: LookupTraceState, summary: string): void {
    this.#ui.box.dataset.state = state;
    this.#ui.summary.textContent = summary;
  }
}

const xy = (p: { x: number; y: number }) => ({ cx: p.x, cy: p.y });
