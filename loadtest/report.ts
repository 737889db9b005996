/** A self-contained HTML report: summary, and SVG charts of latency and throughput over time. */
import type { LoadTestResult, Window } from './run.js';
import { formatSummary } from './summary.js';

interface Series {
  name: string;
  color: string;
  points: [number, number | null][];
  dashed?: boolean;
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The smallest round number (1, 2, 2.5 or 5 times a power of ten) at or above `value`: an axis maximum. */
function roundAxisMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function tickLabel(value: number): string {
  if (value >= 1e6) return `${value / 1e6}M`;
  if (value >= 1e3) return `${value / 1e3}k`;
  return String(Math.round(value * 100) / 100);
}

/** Chart size and margins, in SVG units (the chart scales to the page's width). */
const CHART = { width: 860, height: 260, left: 60, right: 16, top: 30, bottom: 36 };

function lineChart(title: string, yLabel: string, series: Series[], xMax: number, phases: { ramp: number; steadyEnd: number }): string {
  const { width, height, left, right, top, bottom } = CHART;
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  let yMax = 0;
  for (const line of series) for (const [, value] of line.points) if (value !== null && value > yMax) yMax = value;
  yMax = roundAxisMax(yMax * 1.05);
  const x = (seconds: number) => left + (seconds / Math.max(1, xMax)) * plotWidth;
  const y = (value: number) => top + plotHeight - (value / yMax) * plotHeight;
  const out: string[] = [];
  out.push(`<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(title)}">`);
  out.push(`<text x="${left}" y="18" class="title">${escapeHtml(title)}</text>`);
  // Shade the ramp and the drain: only the steady phase between them is measured.
  out.push(`<rect x="${x(0)}" y="${top}" width="${x(phases.ramp) - x(0)}" height="${plotHeight}" class="ramp"/>`);
  out.push(`<rect x="${x(phases.steadyEnd)}" y="${top}" width="${Math.max(0, x(xMax) - x(phases.steadyEnd))}" height="${plotHeight}" class="ramp"/>`);
  for (let tick = 0; tick <= 5; tick++) {
    const value = (yMax / 5) * tick;
    out.push(`<line x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${y(value)}" class="grid"/>`);
    out.push(`<text x="${left - 6}" y="${y(value) + 4}" class="tick" text-anchor="end">${tickLabel(value)}</text>`);
  }
  const xStep = roundAxisMax(xMax / 8);
  for (let seconds = 0; seconds <= xMax; seconds += xStep) {
    out.push(`<text x="${x(seconds)}" y="${height - bottom + 16}" class="tick" text-anchor="middle">${tickLabel(seconds)}s</text>`);
  }
  out.push(`<text x="14" y="${top + plotHeight / 2}" class="tick" transform="rotate(-90 14 ${top + plotHeight / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>`);
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotHeight}" class="axis"/><line x1="${left}" x2="${width - right}" y1="${top + plotHeight}" y2="${top + plotHeight}" class="axis"/>`);
  let legendX = left + title.length * 7.2 + 24;
  for (const line of series) {
    const dash = line.dashed ? ' stroke-dasharray="5 3"' : '';
    out.push(`<path d="${svgPath(line.points, x, y)}" fill="none" stroke="${line.color}" stroke-width="1.8"${dash}/>`);
    out.push(`<line x1="${legendX}" x2="${legendX + 18}" y1="14" y2="14" stroke="${line.color}" stroke-width="3"${dash}/>`);
    out.push(`<text x="${legendX + 22}" y="18" class="tick">${escapeHtml(line.name)}</text>`);
    legendX += 30 + line.name.length * 7;
  }
  out.push('</svg>');
  return out.join('');
}

/** The path through the points; a null value lifts the pen (a gap, e.g. a second without receipts). */
function svgPath(points: Series['points'], x: (seconds: number) => number, y: (value: number) => number): string {
  let path = '';
  let penDown = false;
  for (const [seconds, value] of points) {
    if (value === null) {
      penDown = false;
      continue;
    }
    path += `${penDown ? 'L' : 'M'}${x(seconds).toFixed(1)},${y(value).toFixed(1)}`;
    penDown = true;
  }
  return path;
}

export function renderReport(result: LoadTestResult): string {
  const series = result.timeseries;
  const xMax = series.length ? series[series.length - 1].t : 1;
  const phases = { ramp: result.config.rampMs / 1000, steadyEnd: (result.config.rampMs + result.config.durationMs) / 1000 };
  const points = (read: (window: Window) => number | null): [number, number | null][] => series.map((window) => [window.t, read(window)]);
  const charts = [
    lineChart(
      'Fan-out latency (per 1 s window)',
      'ms',
      [
        { name: 'doc p50', color: '#2563eb', points: points((window) => (window.doc.count ? window.doc.p50 : null)) },
        { name: 'doc p99', color: '#1e3a8a', points: points((window) => (window.doc.count ? window.doc.p99 : null)), dashed: true },
        { name: 'presence p50', color: '#16a34a', points: points((window) => (window.presence.count ? window.presence.p50 : null)) },
        { name: 'presence p99', color: '#14532d', points: points((window) => (window.presence.count ? window.presence.p99 : null)), dashed: true },
      ],
      xMax,
      phases,
    ),
    lineChart(
      'Throughput',
      'messages / s',
      [
        { name: 'sent', color: '#d97706', points: points((window) => window.counters.messagesOut) },
        { name: 'received', color: '#7c3aed', points: points((window) => window.counters.messagesIn) },
        { name: 'doc fan-out received', color: '#2563eb', points: points((window) => window.counters.docReceived) },
      ],
      xMax,
      phases,
    ),
    lineChart('Connected users', 'users', [{ name: 'synced', color: '#0891b2', points: points((window) => window.synced) }], xMax, phases),
    lineChart(
      'CPU',
      '% of one core',
      [
        { name: 'generator', color: '#db2777', points: points((window) => window.generatorCpuPercent) },
        ...(result.server ? [{ name: 'server', color: '#65a30d', points: points((window) => window.server?.cpuPercent ?? null) }] : []),
      ],
      xMax,
      phases,
    ),
  ];
  const data = JSON.stringify(result).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>symphony-loadtest report — ${escapeHtml(result.startedAt)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#111827;padding:0 12px}
h1{font-size:20px;margin:0 0 4px} .sub{color:#6b7280;margin-bottom:16px}
pre{background:#f3f4f6;padding:12px;border-radius:6px;overflow-x:auto;font-size:12.5px}
svg{display:block;margin:18px 0;background:#fff;border:1px solid #e5e7eb;border-radius:6px}
.title{font-weight:600;font-size:13px} .tick{font-size:11px;fill:#4b5563}
.grid{stroke:#e5e7eb} .axis{stroke:#9ca3af} .ramp{fill:#f9fafb}
.warn{background:#fef3c7;border:1px solid #f59e0b;padding:8px 12px;border-radius:6px}
</style></head><body>
<h1>symphony-loadtest report</h1>
<div class="sub">${escapeHtml(result.config.url)} · ${result.config.users} users in rooms of ${result.config.roomSize} · started ${escapeHtml(result.startedAt)} · shaded: ramp-up and drain</div>
${result.generator.saturated ? `<p class="warn">The generator was saturated (${escapeHtml(result.generator.saturationReasons.join('; '))}): latencies include its own delay.</p>` : ''}
${charts.join('\n')}
<h2>Summary</h2>
<pre>${escapeHtml(formatSummary(result))}</pre>
<script type="application/json" id="result">${data}</script>
</body></html>
`;
}
