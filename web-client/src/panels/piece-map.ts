/**
 * Which pieces this browser holds, as a strip of cells. Large files get one cell per run of
 * pieces, shaded by how many of them are held. It is drawn on every progress frame, so only
 * the cells whose share changed are painted again, and the theme's colours are read once per
 * theme (reading them forces a style recalculation).
 */
import type { Bitfield } from '@ringswarm/shared';
import { cssColor, onThemeChange } from '../theme.js';

const CELL_PX = 8;
const GAP_PX = 1;
const MAX_ROWS = 16;

export class PieceMap {
  readonly #canvas: HTMLCanvasElement;
  readonly #resize: ResizeObserver;
  readonly #offTheme: () => void;
  #bits: Bitfield | null = null;
  /** The share held of each cell as last painted (64-bit, so a share like 1/3 compares equal); null: paint every cell. */
  #painted: Float64Array | null = null;
  #colors: { track: string; accent: string } | null = null;
  /** The container's width as last observed: reading clientWidth each frame forced a layout. */
  #width: number | null = null;

  constructor(canvas: HTMLCanvasElement) {
    this.#canvas = canvas;
    this.#resize = new ResizeObserver((entries) => {
      this.#width = entries[0]?.contentRect.width ?? null;
      this.#repaint();
    });
    this.#resize.observe(canvas.parentElement ?? canvas);
    this.#offTheme = onThemeChange(() => {
      this.#colors = null;
      this.#repaint();
    });
  }

  #repaint(): void {
    this.#painted = null;
    this.draw(this.#bits);
  }

  draw(bits: Bitfield | null): void {
    this.#bits = bits;
    const canvas = this.#canvas;
    this.#width ??= canvas.parentElement?.clientWidth ?? 300;
    const width = Math.max(120, Math.floor(this.#width));
    const perRow = Math.max(1, Math.floor(width / (CELL_PX + GAP_PX)));
    const total = bits?.length ?? 0;
    const cells = Math.max(1, Math.min(total, perRow * MAX_ROWS));
    const rows = Math.ceil(cells / perRow);
    const ratio = window.devicePixelRatio || 1;
    const height = rows * (CELL_PX + GAP_PX);
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio); // resizing clears the canvas
      canvas.height = Math.round(height * ratio);
      canvas.style.height = `${height}px`;
      this.#painted = null;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    if (this.#painted?.length !== cells) {
      this.#painted = new Float64Array(cells).fill(Number.NaN);
      ctx.clearRect(0, 0, width, height);
    }
    this.#colors ??= { track: cssColor('--track'), accent: cssColor('--accent') };
    const { track, accent } = this.#colors;
    for (let cell = 0; cell < cells; cell++) {
      const from = Math.floor((cell * total) / cells);
      const to = Math.max(from + 1, Math.floor(((cell + 1) * total) / cells));
      let held = 0;
      for (let i = from; i < to; i++) if (bits?.has(i)) held++;
      const share = total === 0 ? 0 : held / (to - from);
      if (this.#painted[cell] === share) continue;
      this.#painted[cell] = share;
      const x = (cell % perRow) * (CELL_PX + GAP_PX);
      const y = Math.floor(cell / perRow) * (CELL_PX + GAP_PX);
      // Missing: the track colour; held: the accent colour, partial runs in between.
      ctx.clearRect(x, y, CELL_PX, CELL_PX);
      ctx.fillStyle = share === 0 ? track : accent;
      ctx.globalAlpha = share === 0 ? 1 : 0.35 + 0.65 * share;
      ctx.fillRect(x, y, CELL_PX, CELL_PX);
    }
    ctx.globalAlpha = 1;
    const count = bits?.count ?? 0;
    canvas.setAttribute(
      'aria-label',
      total === 0 ? 'Piece map: waiting for the file description' : `Piece map: ${count} of ${total} pieces held`,
    );
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#offTheme();
  }
}
