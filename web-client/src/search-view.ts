/**
 * The search box: finds public shares by exact file name through the ring's DHT (the name
 * records only public shares publish) and lists them as links that open the download.
 * Answers come from other ring members, so only well-formed infohashes become links. The
 * ring lookup of the name's key can be watched hop by hop (the page draws it).
 */
import { isInfoHash, type Overlay, type RingLookupObserver, type RingswarmClient } from '@ringswarm/shared';
import { $, h } from './dom.js';

/** Why a search could not run, or what it found: also the results' `data-state`. */
export type SearchState = 'idle' | 'searching' | 'found' | 'none' | 'not-joined' | 'ring-off' | 'error';

export interface SearchViewOptions {
  /** The page's client once it exists (null while it starts). */
  current: () => RingswarmClient | null;
  /** A search's lookup of `what` begins in `overlay`; returns who watches it (default: nobody). */
  onLookup?: (what: string, overlay: Overlay) => RingLookupObserver;
}

export class SearchView {
  readonly #options: SearchViewOptions;
  /** Counts searches, so only the latest one's answer is shown. */
  #generation = 0;
  readonly #ui = {
    form: $<HTMLFormElement>('search-form'),
    name: $<HTMLInputElement>('search-name'),
    button: $<HTMLButtonElement>('search-button'),
    results: $('search-results'),
    message: $('search-message'),
    list: $<HTMLUListElement>('search-list'),
  };

  constructor(options: SearchViewOptions) {
    this.#options = options;
    this.#show('idle', '');
    this.#ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.search(this.#ui.name.value);
    });
  }

  async search(text: string): Promise<void> {
    const name = text.trim();
    const generation = ++this.#generation;
    if (name === '') {
      this.#show('idle', 'Type the exact name of the file, such as holiday.jpg.');
      return;
    }
    const client = this.#options.current();
    if (client === null || (client.overlay !== null && !client.overlay.joined)) {
      this.#show(
        'not-joined',
        'This page has not joined the ring yet, and search goes through it. Try again in a few seconds.',
      );
      return;
    }
    if (client.overlay === null) {
      this.#show('ring-off', 'The ring is off on this page, so public shares cannot be searched.');
      return;
    }
    this.#show('searching', `Searching for ${name}…`);
    this.#ui.results.setAttribute('aria-busy', 'true');
    let found: string[];
    try {
      found = await client.searchByName(name, this.#options.onLookup?.(`the file name ${name}`, client.overlay));
    } catch (err) {
      if (generation === this.#generation) this.#show('error', `The search failed: ${(err as Error).message}`);
      return;
    } finally {
      if (generation === this.#generation) this.#ui.results.removeAttribute('aria-busy');
    }
    if (generation !== this.#generation) return;
    const hashes = [...new Set(found.filter(isInfoHash))];
    if (hashes.length === 0) {
      this.#show('none', `No public share has that name (${name}).`);
      return;
    }
    this.#show(
      'found',
      hashes.length === 1 ? `1 public share named ${name}:` : `${hashes.length} public shares named ${name}:`,
    );
    this.#ui.list.replaceChildren(
      ...hashes.map((infoHash) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `#${infoHash}`, 'data-infohash': infoHash, class: 'search-result' },
            h('span', { class: 'filename' }, name),
            ' ',
            h('span', { class: 'stats mono' }, `${infoHash.slice(0, 12)}…`),
          ),
        ),
      ),
    );
  }

  #show(state: SearchState, message: string): void {
    const ui = this.#ui;
    ui.results.dataset.state = state;
    ui.message.textContent = message;
    if (state !== 'found') ui.list.replaceChildren();
  }
}
