/** The peers of one swarm: each one's speeds, bytes both ways, pieces and connection type. */
import { formatBytes, formatRate, type SelectedPair, type Swarm } from '@ringswarm/shared';
import { h, shortId } from '../dom.js';

/** Looks up how a peer is reached (host / srflx / prflx / relay), or null when unknown. */
export type ConnectionTypeOf = (remoteId: string) => Promise<{ label: string; detail: string } | null>;

/**
 * One word for how a link gets through, the less direct side deciding: relay (through a
 * TURN server), then srflx / prflx (through a NAT), then host (same network).
 */
export function connectionLabel(pair: SelectedPair): string {
  const rank = (t: string) => ['host', 'prflx', 'srflx', 'relay'].indexOf(t);
  return rank(pair.local.type) >= rank(pair.remote.type) ? pair.local.type : pair.remote.type;
}

export class PeersPanel {
  readonly #body: HTMLTableSectionElement;
  readonly #empty: HTMLElement;
  readonly #typeOf: ConnectionTypeOf | null;
  /** Connection type per peer, looked up once per connection. */
  #types = new Map<string, { label: string; detail: string }>();

  constructor(table: HTMLTableElement, empty: HTMLElement, typeOf: ConnectionTypeOf | null) {
    this.#body = table.tBodies[0] ?? table.createTBody();
    this.#empty = empty;
    this.#typeOf = typeOf;
  }

  #type(remoteId: string): { label: string; detail: string } {
    const known = this.#types.get(remoteId);
    if (known !== undefined) return known;
    const unknown = { label: '—', detail: 'not known' };
    if (!this.#typeOf) return unknown;
    const pending = { label: '…', detail: 'asking the browser' };
    this.#types.set(remoteId, pending);
    this.#typeOf(remoteId).then(
      (type) => {
        // The link may not report a selected pair yet: ask again on the next refresh.
        if (type) this.#types.set(remoteId, type);
        else this.#types.delete(remoteId);
      },
      () => this.#types.set(remoteId, unknown),
    );
    return pending;
  }

  render(swarm: Swarm): void {
    const pieceCount = swarm.manifest?.pieces.length ?? 0;
    const peers = swarm.peerStats().sort((a, b) => b.downloadRate + b.uploadRate - (a.downloadRate + a.uploadRate));
    const live = new Set(peers.map((p) => p.remoteId));
    for (const id of this.#types.keys()) if (!live.has(id)) this.#types.delete(id);
    this.#body.replaceChildren(
      ...peers.map((p) =>
        h(
          'tr',
          { 'data-peer': p.remoteId },
          h('td', { class: 'mono', title: p.remoteId }, shortId(p.remoteId)),
          h('td', { class: 'conn', title: this.#type(p.remoteId).detail }, this.#type(p.remoteId).label),
          h('td', { class: 'num' }, formatRate(p.downloadRate)),
          h('td', { class: 'num' }, formatRate(p.uploadRate)),
          h('td', { class: 'num' }, formatBytes(p.downloaded)),
          h('td', { class: 'num' }, formatBytes(p.uploaded)),
          h(
            'td',
            { class: 'num' },
            p.pieces === null || pieceCount === 0 ? '—' : `${Math.floor((100 * p.pieces) / pieceCount)}%`,
          ),
        ),
      ),
    );
    this.#empty.hidden = peers.length > 0;
  }
}
