/** A self-contained HTML report: summary, and SVG charts of latency and throughput over time. */
import type { LoadTestResult } from './run.js';
import { formatSummary } from './summary.js';

interface Series {
  name: string;
  color: string;
  points: [number, number | null][];
  dashed?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtTick(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(Math.round(v * 100) / 100);
}

function lineChart(title: string, yLabel: string, series: Series[], xMax: number, phases: { ramp: number; steadyEnd: number }): string {
  const W = 860;
  const H = 260;
  const L = 60;
  const R = 16;
  const T = 30;
  const B = 36;
  const pw = W - L - R;
  const ph = H - T - B;
  let yMax = 0;
  for (const s of series) for (const [, y] of s.points) if (y !== null && y > yMax) yMax = y;
  yMax = niceMax(yMax * 1.05);
  const x = (v: number) => L + (v / Math.max(1, xMax)) * pw;
  const y = (v: number) => T + ph - (v / yMax) * ph;
  const out: string[] = [];
  out.push(`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">`);
  out.push(`<text x="${L}" y="18" class="title">${esc(title)}</text>`);
  // phases
  out.push(`<rect x="${x(0)}" y="${T}" width="${x(phases.ramp) - x(0)}" height="${ph}" class="ramp"/>`);
  out.push(`<rect x="${x(phases.steadyEnd)}" y="${T}" width="${Math.max(0, x(xMax) - x(phases.steadyEnd))}" height="${ph}" class="ramp"/>`);
  for (let i = 0; i <= 5; i++) {
    const v = (yMax / 5) * i;
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" class="grid"/>`);
    out.push(`<text x="${L - 6}" y="${y(v) + 4}" class="tick" text-anchor="end">${fmtTick(v)}</text>`);
  }
  const xStep = niceMax(xMax / 8);
  for (let v = 0; v <= xMax; v += xStep) {
    out.push(`<text x="${x(v)}" y="${H - B + 16}" class="tick" text-anchor="middle">${fmtTick(v)}s</text>`);
  }
  out.push(`<text x="14" y="${T + ph / 2}" class="tick" transform="rotate(-90 14 ${T + ph / 2})" text-anchor="middle">${esc(yLabel)}</text>`);
  out.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" class="axis"/><line x1="${L}" x2="${W - R}" y1="${T + ph}" y2="${T + ph}" class="axis"/>`);
  let lx = L + title.length * 7.2 + 24;
  for (const s of series) {
    let d = '';
    let pen = false;
    for (const [px, py] of s.points) {
      if (py === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${x(px).toFixed(1)},${y(py).toFixed(1)}`;
      pen = true;
    }
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="14" y2="14" stroke="${s.color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${lx + 22}" y="18" class="tick">${esc(s.name)}</text>`);
    lx += 30 + s.name.length * 7;
  }
  out.push('</svg>');
  return out.join('');
}

export function renderReport(r: LoadTestResult): string {
  const ts = r.timeseries;
  const xMax = ts.length ? ts[ts.length - 1].t : 1;
  const phases = { ramp: r.config.rampMs / 1000, steadyEnd: (r.config.rampMs + r.config.durationMs) / 1000 };
  const pts = (f: (w: (typeof ts)[number]) => number | null): [number, number | null][] => ts.map((w) => [w.t, f(w)]);
  const charts = [
    lineChart(
      'Fan-out latency (per 1 s window)',
      'ms',
      [
        { name: 'doc p50', color: '#2563eb', points: pts((w) => (w.doc.count ? w.doc.p50 : null)) },
        { name: 'doc p99', color: '#1e3a8a', points: pts((w) => (w.doc.count ? w.doc.p99 : null)), dashed: true },
        { name: 'presence p50', color: '#16a34a', points: pts((w) => (w.presence.count ? w.presence.p50 : null)) },
        { name: 'presence p99', color: '#14532d', points: pts((w) => (w.presence.count ? w.presence.p99 : null)), dashed: true },
      ],
      xMax,
      phases,
    ),
    lineChart(
      'Throughput',
      'messages / s',
      [
        { name: 'sent', color: '#d97706', points: pts((w) => w.counters.msgsOut) },
        { name: 'received', color: '#7c3aed', points: pts((w) => w.counters.msgsIn) },
        { name: 'doc fan-out received', color: '#2563eb', points: pts((w) => w.counters.docRecv) },
      ],
      xMax,
      phases,
    ),
    lineChart('Connected users', 'users', [{ name: 'synced', color: '#0891b2', points: pts((w) => w.synced) }], xMax, phases),
    lineChart(
      'CPU',
      '% of one core',
      [
        { name: 'generator', color: '#db2777', points: pts((w) => w.generatorCpuPercent) },
        ...(r.server ? [{ name: 'server', color: '#65a30d', points: pts((w) => w.server?.cpuPercent ?? null) }] : []),
      ],
      xMax,
      phases,
    ),
  ];
  const data = JSON.stringify(r).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>symphony-loadtest report — ${esc(r.startedAt)}</title>
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
<div class="sub">${esc(r.config.url)} · ${r.config.users} users in rooms of ${r.config.roomSize} · started ${esc(r.startedAt)} · shaded: ramp-up and drain</div>
${r.generator.saturated ? `<p class="warn">The generator was saturated (${esc(r.generator.saturationReasons.join('; '))}): latencies include its own delay.</p>` : ''}
${charts.join('\n')}
<h2>Summary</h2>
<pre>${esc(formatSummary(r))}</pre>
<script type="application/json" id="result">${data}</script>
</body></html>
`;
}
