/**
 * What a page on plain HTTP (not a secure context) does differently: it says once what it
 * costs, and copies the share link without `navigator.clipboard` (secure contexts only).
 * Hashing (hash-wasm instead of WebCrypto) and storage (IndexedDB instead of OPFS) fall back
 * elsewhere: shared/src/util/bytes.ts and storage.ts.
 */

/** Set once the person dismissed the plain-HTTP note; the note stays away in this browser. */
export const PLAIN_HTTP_NOTE_KEY = 'ringswarm.plainHttpNoteDismissed';

/** localStorage that may be missing or refuse (storage turned off): reads give null, writes do nothing. */
export const remembered = {
  get(key: string): string | null {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set(key: string, value: string): void {
    try {
      window.localStorage.setItem(key, value);
    } catch {
      // Not remembered; the page still works.
    }
  },
};

/** Shows the plain-HTTP note unless the page is a secure context or the note was dismissed before. */
export function showPlainHttpNote(note: HTMLElement, dismiss: HTMLButtonElement): void {
  if (window.isSecureContext || remembered.get(PLAIN_HTTP_NOTE_KEY) === '1') return;
  note.hidden = false;
  dismiss.addEventListener('click', () => {
    note.hidden = true;
    remembered.set(PLAIN_HTTP_NOTE_KEY, '1');
  });
}

/**
 * Copies the text of `input`: through the async clipboard where the page has it, else by
 * selecting it and `document.execCommand('copy')` (still the only way on plain HTTP).
 * Resolves false when neither worked; the text is then left selected for Ctrl+C.
 */
export async function copyText(input: HTMLInputElement): Promise<boolean> {
  if (typeof navigator.clipboard?.writeText === 'function') {
    try {
      await navigator.clipboard.writeText(input.value);
      return true;
    } catch {
      // Refused (no permission, no focus): try the old way.
    }
  }
  input.focus();
  input.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}
