/** Download and upload speed over the last minute, drawn by uPlot. */
import { formatRate } from '@ringswarm/shared';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cssColor, onThemeChange } from '../theme.js';

/** Seconds of history shown. */
export const CHART_SECONDS = 60;
const HEIGHT_PX = 160;
/** Width of the rate axis: room for the longest label, "1000.0 KiB/s". */
const RATE_AXIS_PX = 96;
/** Rate ticks fall on round binary figures (KiB/s, MiB/s), as formatRate prints them. */
const RATE_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 250, 500]
  .flatMap((m) => [m * 1024, m * 1024 * 1024])
  .sort((a, b) => a - b);

/** `rgb(r, g, b)` as computed styles give it, made translucent. */
const withAlpha = (rgb: string, alpha: number): string => rgb.replace(/^rgb\((.*)\)$/, `rgba($1, ${alpha})`);

export class SpeedChart {
  readonly #container: HTMLElement;
  #plot: uPlot;
  readonly #data: [number[], number[], number[]] = [[], [], []];
  readonly #resize: ResizeObserver;
  readonly #offTheme: () => void;

  constructor(container: HTMLElement) {
    this.#container = container;
    this.#plot = this.#create();
    this.#resize = new ResizeObserver(() => {
      const w = Math.max(240, container.clientWidth);
      if (w !== this.#plot.width) this.#plot.setSize({ width: w, height: HEIGHT_PX });
    });
    this.#resize.observe(container);
    // uPlot takes its colours once: a new theme draws a new chart of the same samples.
    this.#offTheme = onThemeChange(() => {
      this.#plot.destroy();
      this.#plot = this.#create();
    });
  }

  #create(): uPlot {
    const container = this.#container;
    const width = Math.max(240, container.clientWidth);
    const muted = cssColor('--muted');
    const grid = cssColor('--border');
    const accent = cssColor('--accent');
    return new uPlot(
      {
        width,
        height: HEIGHT_PX,
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(max, 1024 * 1024)] } },
        axes: [
          {
            stroke: muted,
            grid: { stroke: grid, width: 1 },
            // Whole seconds only, as minutes:seconds of the clock.
            incrs: [1, 2, 5, 10, 15, 30, 60],
            space: 56,
            values: (_u, ticks) =>
              ticks.map((t) => {
                const d = new Date(t * 1000);
                return `${d.getMinutes()}:${String(d.getSeconds()).padStart(2, '0')}`;
              }),
          },
          {
            stroke: muted,
            size: RATE_AXIS_PX,
            incrs: RATE_INCREMENTS,
            grid: { stroke: grid, width: 1 },
            values: (_u, ticks) => ticks.map((t) => formatRate(t)),
          },
        ],
        series: [
          {},
          { label: 'Download', stroke: accent, width: 2, fill: withAlpha(accent, 0.12) },
          { label: 'Upload', stroke: cssColor('--ok'), width: 2, dash: [6, 3] },
        ],
      },
      this.#data,
      container,
    );
  }

  /** Adds one sample (bytes per second) at `time` (ms since the epoch). */
  push(time: number, download: number, upload: number): void {
    const [t, d, u] = this.#data;
    t.push(time / 1000);
    d.push(download);
    u.push(upload);
    while (t.length > 0 && t[0]! < time / 1000 - CHART_SECONDS) {
      t.shift();
      d.shift();
      u.shift();
    }
    this.#plot.setData(this.#data);
  }

  destroy(): void {
    this.#resize.disconnect();
    this.#offTheme();
    this.#plot.destroy();
  }
}
