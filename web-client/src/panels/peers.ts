/**
 * The peers of one swarm: each one's speeds, bytes both ways, pieces and connection badge
 * (same network / direct across NAT / relayed, the candidate pair on hover or tap), and the
 * badge of the transfer as a whole.
 */
import { formatBytes, formatRate, plural, type SelectedPair, type Swarm } from '@ringswarm/shared';
import { BADGE_LABELS, type Badge, overallBadge } from '../connection-badge.js';
import { h, shortId } from '../dom.js';

/** How a peer is reached, or null when the browser cannot say yet. */
export interface ConnectionType {
  /** The less direct candidate type of the pair (host / srflx / prflx / relay). */
  label: string;
  /** Both ends of the pair, for the tooltip. */
  detail: string;
  badge: Badge;
}

/** Looks up how a peer is reached, or null when unknown. */
export type ConnectionTypeOf = (remoteId: string) => Promise<ConnectionType | null>;

/**
 * One word for how a link gets through, the less direct side deciding: relay (through a
 * TURN server), then srflx / prflx (through a NAT), then host (same network).
 */
export function connectionLabel(pair: SelectedPair): string {
  const rank = (t: string) => ['host', 'prflx', 'srflx', 'relay'].indexOf(t);
  return rank(pair.local.type) >= rank(pair.remote.type) ? pair.local.type : pair.remote.type;
}

type Known = ConnectionType | { label: string; detail: string; badge: null };

/** ICE may switch to another candidate pair mid-connection: a known pair is asked for again after this many renders. */
export const PAIR_REREAD_RENDERS = 5;

const UNKNOWN: Known = { label: '—', detail: 'not known', badge: null };
const PENDING: Known = { label: '…', detail: 'asking the browser', badge: null };

/**
 * Connection types per peer, asked of the browser once and then again every
 * {@link PAIR_REREAD_RENDERS} renders, so the badge follows the pair ICE selected. The last
 * answer is shown until the next one arrives. No DOM: the panel renders what it returns.
 */
export class ConnectionTypes {
  readonly #typeOf: ConnectionTypeOf | null;
  readonly #entries = new Map<string, { type: Known; askedAt: number; asking: boolean }>();
  #renders = 0;

  constructor(typeOf: ConnectionTypeOf | null) {
    this.#typeOf = typeOf;
  }

  /** One render begins: forgets the peers not in `live`. */
  tick(live: ReadonlySet<string>): void {
    this.#renders++;
    for (const id of this.#entries.keys()) if (!live.has(id)) this.#entries.delete(id);
  }

  /** The type last known for `remoteId`, without asking. */
  known(remoteId: string): Known | undefined {
    return this.#entries.get(remoteId)?.type;
  }

  /** The type to show for `remoteId` now; asks the browser when it is due. */
  get(remoteId: string): Known {
    if (!this.#typeOf) return UNKNOWN;
    const entry = this.#entries.get(remoteId);
    if (entry && (entry.asking || this.#renders - entry.askedAt < PAIR_REREAD_RENDERS)) return entry.type;
    const asking = { type: entry?.type ?? PENDING, askedAt: this.#renders, asking: true };
    this.#entries.set(remoteId, asking);
    this.#typeOf(remoteId).then(
      (type) => {
        if (this.#entries.get(remoteId) !== asking) return; // the peer left meanwhile
        // The link may not report a selected pair yet: ask again on the next render.
        if (type) this.#entries.set(remoteId, { type, askedAt: asking.askedAt, asking: false });
        else this.#entries.delete(remoteId);
      },
      () => {
        if (this.#entries.get(remoteId) === asking)
          this.#entries.set(remoteId, { ...asking, type: UNKNOWN, asking: false });
      },
    );
    return asking.type;
  }
}

export class PeersPanel {
  readonly #body: HTMLTableSectionElement;
  readonly #empty: HTMLElement;
  readonly #overall: HTMLElement;
  /** Connection type per peer, asked again now and then (ICE may switch pairs). */
  readonly #types: ConnectionTypes;
  /** Peers whose candidate pair was tapped open. */
  #open = new Set<string>();

  constructor(table: HTMLTableElement, empty: HTMLElement, overall: HTMLElement, typeOf: ConnectionTypeOf | null) {
    this.#body = table.tBodies[0] ?? table.createTBody();
    this.#empty = empty;
    this.#overall = overall;
    this.#types = new ConnectionTypes(typeOf);
    // Rows are redrawn every second: one delegated listener instead of one per badge.
    this.#body.addEventListener('click', (event) => {
      const target = event.target instanceof Element ? event.target.closest('[data-badge]') : null;
      const peer = target?.closest('tr')?.getAttribute('data-peer');
      if (!peer) return;
      if (this.#open.has(peer)) this.#open.delete(peer);
      else this.#open.add(peer);
      const detail = target?.parentElement?.querySelector<HTMLElement>('.pair-detail');
      if (detail) detail.hidden = !this.#open.has(peer);
    });
  }

  #connectionCell(remoteId: string): HTMLTableCellElement {
    const type = this.#types.get(remoteId);
    if (type.badge === null) return h('td', { class: 'conn', title: type.detail }, type.label);
    const open = this.#open.has(remoteId);
    return h(
      'td',
      { class: 'conn' },
      h(
        'button',
        {
          type: 'button',
          class: 'badge',
          'data-badge': type.badge,
          title: type.detail,
          'aria-expanded': String(open),
        },
        BADGE_LABELS[type.badge],
      ),
      h('span', { class: 'pair-detail stats', hidden: !open }, type.detail),
    );
  }

  render(swarm: Swarm): void {
    const pieceCount = swarm.manifest?.pieces.length ?? 0;
    const peers = swarm.peerStats().sort((a, b) => b.downloadRate + b.uploadRate - (a.downloadRate + a.uploadRate));
    const live = new Set(peers.map((p) => p.remoteId));
    this.#types.tick(live);
    for (const id of this.#open) if (!live.has(id)) this.#open.delete(id);
    this.#body.replaceChildren(
      ...peers.map((p) =>
        h(
          'tr',
          { 'data-peer': p.remoteId },
          h('td', { class: 'mono', title: p.remoteId }, shortId(p.remoteId)),
          this.#connectionCell(p.remoteId),
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
    this.#renderOverall(peers);
  }

  /** The transfer's badge: the way most bytes (or, before any, most peers) flow. */
  #renderOverall(peers: readonly { remoteId: string; downloaded: number; uploaded: number }[]): void {
    const known: { badge: Badge; bytes: number }[] = [];
    for (const p of peers) {
      const badge = this.#types.known(p.remoteId)?.badge;
      if (badge) known.push({ badge, bytes: p.downloaded + p.uploaded });
    }
    const badge = overallBadge(known);
    this.#overall.hidden = badge === null;
    if (badge === null) {
      delete this.#overall.dataset.badge;
      this.#overall.textContent = '';
      return;
    }
    this.#overall.dataset.badge = badge;
    this.#overall.textContent = BADGE_LABELS[badge];
    const counts = new Map<Badge, number>();
    for (const k of known) counts.set(k.badge, (counts.get(k.badge) ?? 0) + 1);
    this.#overall.title = [...counts].map(([b, n]) => `${plural(n, 'peer')} ${BADGE_LABELS[b]}`).join(', ');
  }
}
