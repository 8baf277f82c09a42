/**
 * Light and dark theme. The page follows the system's `prefers-color-scheme` until the theme
 * button picks one, which is then remembered in this browser (localStorage). The stylesheet
 * holds both palettes (`light-dark()`); choosing one only sets `data-theme` on `<html>`.
 * Canvas and chart colours are read from the stylesheet through {@link cssColor}, and drawn
 * again on {@link onThemeChange}.
 */

export type Theme = 'light' | 'dark';

const STORAGE_KEY = 'ringswarm:theme';
const darkQuery = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
const listeners = new Set<() => void>();

function stored(): Theme | null {
  try {
    const value = localStorage.getItem(STORAGE_KEY);
    return value === 'light' || value === 'dark' ? value : null;
  } catch {
    // Storage can be off (a privacy setting): the system's choice then.
    return null;
  }
}

/** The theme in effect: the one picked in this browser, else the system's. */
export function currentTheme(): Theme {
  return stored() ?? (darkQuery?.matches ? 'dark' : 'light');
}

/** Picks a theme for this browser from now on. */
export function setTheme(theme: Theme): void {
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Not remembered; it still applies to this page.
  }
  document.documentElement.dataset.theme = theme;
  for (const listener of listeners) listener();
}

/** Calls `listener` whenever the colours change (the button, or the system's setting). */
export function onThemeChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

let probe: HTMLElement | null = null;

/** The colour a custom property of the stylesheet (`--accent`) has now, resolved (`rgb(…)`). */
export function cssColor(property: `--${string}`): string {
  if (!probe) {
    probe = document.createElement('span');
    probe.hidden = true;
    document.body.append(probe);
  }
  probe.style.color = `var(${property})`;
  return getComputedStyle(probe).color;
}

/** Applies the remembered theme and wires the button that switches it. */
export function initTheme(button: HTMLButtonElement): void {
  const remembered = stored();
  if (remembered) document.documentElement.dataset.theme = remembered;
  // A toggle button: its name stays "Dark theme", aria-pressed says whether it is on.
  const render = () => button.setAttribute('aria-pressed', String(currentTheme() === 'dark'));
  render();
  button.addEventListener('click', () => setTheme(currentTheme() === 'dark' ? 'light' : 'dark'));
  onThemeChange(render);
  darkQuery?.addEventListener('change', () => {
    if (stored()) return;
    for (const listener of listeners) listener();
  });
}
