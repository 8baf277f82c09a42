/**
 * "Look up a key": runs a ring lookup of a raw key typed as hex (a peer ID is one too) and
 * draws it on the ring (panels/lookup-trace.ts), to show the overlay at work. The key is
 * checked here first, with a message that says what is wrong with it.
 */
import { RING_DEFAULT_BITS, type RingswarmClient } from '@ringswarm/shared';
import { $, shortId } from './dom.js';
import type { LookupTrace } from './panels/lookup-trace.js';

/** Hex digits of a ring key: the ring's 160 bits, like a peer ID. */
export const RING_KEY_DIGITS = RING_DEFAULT_BITS / 4;

/** A key as typed, read: lower-case hex, or why it is not a key. */
export function parseRingKey(text: string): { key: string } | { error: string } {
  const key = text.trim().toLowerCase();
  if (key === '') {
    return { error: `Type a ring key: ${RING_KEY_DIGITS} hexadecimal digits (0–9 and a–f), such as a peer ID.` };
  }
  if (!/^[0-9a-f]*$/.test(key)) {
    return { error: 'A ring key has only the digits 0–9 and the letters a–f; this one has other characters.' };
  }
  if (key.length !== RING_KEY_DIGITS) {
    return { error: `A ring key is ${RING_KEY_DIGITS} hexadecimal digits long; this one has ${key.length}.` };
  }
  return { key };
}

/** Why a lookup did not start: the message's `data-state` ('' when it started). */
export type LookupFormState = '' | 'invalid' | 'not-joined' | 'ring-off';

export interface LookupViewOptions {
  /** The page's client once it exists (null while it starts). */
  current: () => RingswarmClient | null;
  trace: LookupTrace;
}

export class LookupView {
  readonly #options: LookupViewOptions;
  readonly #ui = {
    form: $<HTMLFormElement>('lookup-form'),
    key: $<HTMLInputElement>('lookup-key'),
    message: $('lookup-message'),
  };

  constructor(options: LookupViewOptions) {
    this.#options = options;
    this.#ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.lookUp(this.#ui.key.value);
    });
  }

  lookUp(text: string): void {
    const parsed = parseRingKey(text);
    if ('error' in parsed) {
      this.#show('invalid', parsed.error);
      return;
    }
    const overlay = this.#options.current()?.overlay;
    if (overlay === null) {
      this.#show('ring-off', 'The ring is off on this page, so there is nothing to look up in.');
      return;
    }
    if (overlay === undefined || !overlay.joined) {
      this.#show('not-joined', 'This page has not joined the ring yet. Try again in a few seconds.');
      return;
    }
    this.#show('', '');
    const observer = this.#options.trace.begin(`key ${shortId(parsed.key)}`, overlay);
    // The observer's end tells the result, to the trace.
    overlay.node.lookup(overlay.space.fromHex(parsed.key), () => {}, observer);
  }

  #show(state: LookupFormState, message: string): void {
    const { key, message: box } = this.#ui;
    box.dataset.state = state;
    box.textContent = message;
    if (state === 'invalid') key.setAttribute('aria-invalid', 'true');
    else key.removeAttribute('aria-invalid');
  }
}
