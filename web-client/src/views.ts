/**
 * The page's two views: Files (share, download, what this tab shares) and Network (the
 * ring, its figures, and the search for public shares through it), one click apart. The
 * buttons are toggle buttons (aria-pressed); the view shown takes the focus, so a screen
 * reader starts reading it.
 */
import { $ } from './dom.js';

export type ViewName = 'files' | 'network';

export class Views {
  readonly #views: Record<ViewName, { button: HTMLButtonElement; view: HTMLElement }>;
  #current: ViewName = 'files';

  constructor() {
    this.#views = {
      files: { button: $<HTMLButtonElement>('view-files'), view: $('files-view') },
      network: { button: $<HTMLButtonElement>('view-network'), view: $('network-view') },
    };
    for (const name of ['files', 'network'] as const) {
      this.#views[name].button.addEventListener('click', () => this.show(name, true));
    }
  }

  get current(): ViewName {
    return this.#current;
  }

  /** Shows one view; `focus` moves the keyboard focus into it (after a click on its button). */
  show(name: ViewName, focus = false): void {
    this.#current = name;
    for (const [key, { button, view }] of Object.entries(this.#views)) {
      const shown = key === name;
      view.hidden = !shown;
      button.setAttribute('aria-pressed', String(shown));
    }
    if (focus) this.#views[name].view.focus();
  }
}
