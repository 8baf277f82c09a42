/**
 * This peer's place on the Chord ring (IDs are positions on a 2^160 circle): itself,
 * predecessor, successor list and fingers, drawn as SVG, with the ring's figures beside it.
 * The last lookup (lookup-trace.ts) is drawn on top, in a layer the redraws keep.
 */
import type { RingStats } from '@ringswarm/shared';
import { shortId } from '../dom.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
type RingPointer = 'finger' | 'successor' | 'predecessor';
/** The circle's radius in the drawing's units (its viewBox is 220 wide). */
export const RING_RADIUS = 90;

/** Position of a 160-bit ID on the circle, as a fraction of a turn (from its first 52 bits). */
export function turnOf(id: string): number {
  return Number.parseInt(id.slice(0, 13), 16) / 16 ** 13;
}

/** Where an ID sits on the drawing, at `radius` from the centre. */
export function point(id: string, radius = RING_RADIUS): { x: number; y: number } {
  // Clockwise from the top, like a clock face.
  const angle = turnOf(id) * 2 * Math.PI - Math.PI / 2;
  return { x: radius * Math.cos(angle), y: radius * Math.sin(angle) };
}

/** An SVG element with these attributes (set one by one: no markup is parsed). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Gives `el` a tooltip (its SVG title). */
export function titled<T extends SVGElement>(el: T, text: string): T {
  const title = document.createElementNS(SVG_NS, 'title');
  title.textContent = text;
  el.append(title);
  return el;
}

export class RingPanel {
  readonly #section: HTMLElement;
  readonly #svg: SVGSVGElement;
  readonly #figures: HTMLElement;
  readonly #title: SVGTitleElement | null;
  /** Drawn over the pointers, and kept as they are redrawn. */
  readonly lookupLayer = svg('g', { class: 'ring-lookup' });

  constructor(section: HTMLElement, drawing: SVGSVGElement, figures: HTMLElement) {
    this.#section = section;
    this.#svg = drawing;
    this.#figures = figures;
    this.#title = drawing.querySelector<SVGTitleElement>('title');
    drawing.append(this.lookupLayer);
  }

  render(stats: RingStats | null): void {
    this.#section.hidden = stats === null;
    if (!stats) return;
    // Colours are the stylesheet's (.ring-* classes), so they follow the theme.
    const children: SVGElement[] = [svg('circle', { cx: 0, cy: 0, r: RING_RADIUS, class: 'ring-track' })];
    const self = point(stats.id);
    const chord = (id: string, kind: RingPointer) => {
      const p = point(id);
      children.push(svg('line', { x1: self.x, y1: self.y, x2: p.x, y2: p.y, class: `ring-chord ring-${kind}` }));
    };
    const dot = (id: string, r: number, kind: RingPointer | 'self', label: string) => {
      const p = point(id);
      children.push(titled(svg('circle', { cx: p.x, cy: p.y, r, class: `ring-dot ring-${kind}` }), label));
    };
    // A leaf's one link: its gateway, the member just before it (drawn as a predecessor).
    if (stats.gateway) chord(stats.gateway, 'predecessor');
    for (const id of stats.fingers) chord(id, 'finger');
    for (const id of stats.successors) chord(id, 'successor');
    if (stats.predecessor) chord(stats.predecessor, 'predecessor');
    for (const id of stats.fingers) dot(id, 3.5, 'finger', `finger ${shortId(id)}`);
    stats.successors.forEach((id, i) => {
      dot(id, 4.5, 'successor', `successor ${i + 1}: ${shortId(id)}`);
    });
    if (stats.predecessor) dot(stats.predecessor, 4.5, 'predecessor', `predecessor ${shortId(stats.predecessor)}`);
    if (stats.gateway) dot(stats.gateway, 4.5, 'predecessor', `gateway ${shortId(stats.gateway)}`);
    dot(stats.id, 6, 'self', `this peer ${shortId(stats.id)}`);
    this.#svg.replaceChildren(...(this.#title ? [this.#title] : []), ...children, this.lookupLayer);
    if (this.#title) {
      this.#title.textContent = !stats.joined
        ? 'This peer has not joined the ring yet'
        : stats.leaf
          ? 'This peer beside the ring, with the member it routes through and the owners of its ID'
          : `This peer on the ring, with its predecessor, ${stats.successors.length} successors and ${stats.fingers.length} fingers`;
    }

    const hops = stats.lookups.map((l) => l.hops).sort((a, b) => a - b);
    const rows: [string, string][] = [
      ['This peer', `${shortId(stats.id)} (${(turnOf(stats.id) * 100).toFixed(1)}% round)`],
      [
        'Joined',
        !stats.joined
          ? 'not yet'
          : stats.leaf && stats.gateway
            ? `as a leaf, through ${shortId(stats.gateway)}`
            : `as a member${stats.leaves > 0 ? `, routing for ${stats.leaves} leaves` : ''}`,
      ],
      ['Predecessor', stats.predecessor ? shortId(stats.predecessor) : '—'],
      ['Successors', stats.successors.map(shortId).join(', ') || '—'],
      ['Fingers', String(stats.fingers.length)],
      ['Lookups', hops.length === 0 ? '—' : `${hops.length}, median ${hops[Math.floor(hops.length / 2)]} hops`],
      [
        'Signals',
        `${stats.signals.viaRing} via ring · ${stats.signals.viaTracker} via tracker · ${stats.signals.relayed} relayed`,
      ],
      ['DHT records', String(stats.dhtRecords)],
    ];
    this.#figures.replaceChildren(
      ...rows.map(([term, value]) => {
        const div = document.createElement('div');
        const dt = document.createElement('dt');
        const dd = document.createElement('dd');
        dt.textContent = term;
        dd.textContent = value;
        div.append(dt, dd);
        return div;
      }),
    );
  }
}
