import type { Sample } from '../../lib/dashboard/wire-types.js';

export interface ChartSeries {
  /** A CSS color or custom property name (`--series-a`). */
  readonly color: string;
  readonly value: (sample: Sample) => number;
}

const PADDING = { left: 44, right: 8, top: 8, bottom: 20 };
/** The shortest span the chart shows, in milliseconds. */
const MIN_WINDOW_MS = 60_000;

/**
 * A time-series line chart on a canvas: a few dozen lines instead of a charting library. It
 * redraws everything on each sample (once a second), which costs well under a millisecond for
 * the few hundred points of its window.
 */
export class LineChart {
  private readonly colors: string[];

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly series: readonly ChartSeries[],
    private readonly windowMs = 5 * 60_000,
  ) {
    const style = getComputedStyle(document.documentElement);
    this.colors = series.map(({ color }) => (color.startsWith('--') ? style.getPropertyValue(color).trim() : color));
  }

  render(samples: readonly Sample[]): void {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const context = canvas.getContext('2d');
    if (!context) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);

    const now = Date.now();
    // A young server's few samples fill the chart rather than a sliver at its right edge.
    const start = Math.max(now - this.windowMs, Math.min(samples[0]?.at ?? now, now - MIN_WINDOW_MS));
    const span = now - start;
    const visible = samples.filter((sample) => sample.at >= start);
    const maximum = niceCeiling(Math.max(1, ...visible.flatMap((sample) => this.series.map((series) => series.value(sample)))));
    const plotWidth = width - PADDING.left - PADDING.right;
    const plotHeight = height - PADDING.top - PADDING.bottom;
    const x = (at: number) => PADDING.left + ((at - start) / span) * plotWidth;
    const y = (value: number) => PADDING.top + plotHeight - (value / maximum) * plotHeight;

    context.font = '11px system-ui, sans-serif';
    context.fillStyle = '#9ca3af';
    context.strokeStyle = '#eef0f3';
    context.lineWidth = 1;
    context.textAlign = 'right';
    context.textBaseline = 'middle';
    for (let step = 0; step <= 4; step++) {
      const value = (maximum * step) / 4;
      const lineY = Math.round(y(value)) + 0.5;
      context.beginPath();
      context.moveTo(PADDING.left, lineY);
      context.lineTo(width - PADDING.right, lineY);
      context.stroke();
      context.fillText(formatTick(value), PADDING.left - 6, lineY);
    }
    context.textBaseline = 'alphabetic';
    const seconds = Math.round(span / 1000);
    context.textAlign = 'left';
    context.fillText(seconds >= 120 ? `${Math.round(seconds / 60)} min ago` : `${seconds} s ago`, PADDING.left, height - 4);
    context.textAlign = 'right';
    context.fillText('now', width - PADDING.right, height - 4);

    this.series.forEach((series, index) => {
      if (visible.length === 0) return;
      context.beginPath();
      visible.forEach((sample, i) => {
        const px = x(sample.at);
        const py = y(series.value(sample));
        if (i === 0) context.moveTo(px, py);
        else context.lineTo(px, py);
      });
      context.strokeStyle = this.colors[index];
      context.lineWidth = 2;
      context.lineJoin = 'round';
      context.stroke();
      if (index === 0) {
        context.lineTo(x(visible[visible.length - 1].at), y(0));
        context.lineTo(x(visible[0].at), y(0));
        context.closePath();
        context.globalAlpha = 0.08;
        context.fillStyle = this.colors[index];
        context.fill();
        context.globalAlpha = 1;
      }
    });
  }
}

/** An axis maximum whose four grid steps are round numbers: 4, 8, 20, 40, 80, 200… */
function niceCeiling(value: number): number {
  const rawStep = value / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  for (const step of [1, 2, 5, 10]) if (rawStep <= step * magnitude) return 4 * Math.max(1, step * magnitude);
  return 40 * magnitude;
}

function formatTick(value: number): string {
  if (value >= 1000) return `${Math.round(value / 100) / 10}k`;
  return String(Math.round(value * 10) / 10);
}
