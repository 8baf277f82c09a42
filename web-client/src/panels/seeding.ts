/** What this tab shares: every swarm of the client, its peers, upload and ratio; stop sharing. */
import { formatBytes, type RingswarmClient, type Swarm } from '@ringswarm/shared';
import { h } from '../dom.js';

/** Upload ratio: uploaded / downloaded, or uploaded / size for the original sharer. */
export function ratioOf(swarm: Swarm): number | null {
  const s = swarm.stats();
  const base = s.downloaded > 0 ? s.downloaded : (s.length ?? 0);
  return base === 0 ? null : s.uploaded / base;
}

export class SeedingPanel {
  readonly #section: HTMLElement;
  readonly #body: HTMLTableSectionElement;
  readonly #onStop: (swarm: Swarm) => void;
  /** Rows by infohash, kept so that focus on a Stop button survives a refresh. */
  #rows = new Map<
    string,
    { row: HTMLTableRowElement; name: HTMLElement; size: HTMLElement; cells: HTMLTableCellElement[] }
  >();

  constructor(section: HTMLElement, table: HTMLTableElement, onStop: (swarm: Swarm) => void) {
    this.#section = section;
    this.#body = table.tBodies[0] ?? table.createTBody();
    this.#onStop = onStop;
  }

  render(client: RingswarmClient | null): void {
    const swarms = client?.swarms ?? [];
    this.#section.hidden = swarms.length === 0;
    const live = new Set(swarms.map((s) => s.infoHash));
    for (const [infoHash, { row }] of this.#rows) {
      if (live.has(infoHash)) continue;
      row.remove();
      this.#rows.delete(infoHash);
    }
    for (const swarm of swarms) {
      let entry = this.#rows.get(swarm.infoHash);
      if (!entry) {
        const cells = [0, 1, 2].map(() => h('td', { class: 'num' }));
        const label = swarm.manifest?.name ?? swarm.infoHash.slice(0, 12);
        const stop = h('button', { type: 'button', class: 'secondary small', 'aria-label': `Stop sharing ${label}` });
        stop.textContent = 'Stop sharing';
        stop.addEventListener('click', () => this.#onStop(swarm));
        const name = h('span', { class: 'filename' });
        const size = h('span', { class: 'stats' });
        const first = h('td', { class: 'share-cell' }, name, h('br'), size, ' ', stop);
        const row = h('tr', { 'data-infohash': swarm.infoHash }, first, ...cells);
        this.#body.append(row);
        entry = { row, name, size, cells };
        this.#rows.set(swarm.infoHash, entry);
      }
      const s = swarm.stats();
      const ratio = ratioOf(swarm);
      const [peers, uploaded, ratioCell] = entry.cells;
      entry.name.textContent = swarm.manifest?.name ?? `${swarm.infoHash.slice(0, 12)}…`;
      entry.size.textContent =
        s.length === null ? '—' : s.done ? formatBytes(s.length) : `${formatBytes(s.have)} of ${formatBytes(s.length)}`;
      peers!.textContent = String(s.peers);
      uploaded!.textContent = formatBytes(s.uploaded);
      ratioCell!.textContent = ratio === null ? '—' : ratio.toFixed(2);
    }
  }
}
