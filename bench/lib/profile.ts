/** Summarises a V8 .cpuprofile: where the server under test spent its CPU, by function and by package. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function where(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `${pkg}/${rest[rest.length - 1]}`;
  }
  if (url.startsWith('node:')) return url;
  const m = /\/work\/[^/]+\/(.*)$/.exec(url) ?? /([^/]+\/[^/]+)$/.exec(url);
  return m ? m[1] : url;
}

function pkgOf(url: string): string {
  if (!url) return '(native, GC, idle)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 13).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node internals';
  return 'project code';
}

export function summariseProfile(dir: string, top = 20): string {
  // the newest main-thread profile in the directory (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile;
  // thread 0 is the main thread, others are e.g. the module-loader hooks thread)
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && f.split('.')[4] === '0')
    .sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
  if (!files.length) return '(no profile written)';
  const p = JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as CpuProfile;
  const time = new Map<number, number>();
  p.samples.forEach((id, i) => time.set(id, (time.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const n of p.nodes) {
    const t = time.get(n.id) ?? 0;
    total += t;
    if (n.callFrame.functionName === '(idle)') {
      idle += t;
      continue;
    }
    const key = `${n.callFrame.functionName || '(anonymous)'} — ${where(n.callFrame.url)}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
    const pkg = n.callFrame.functionName === '(garbage collector)' ? 'garbage collector' : pkgOf(n.callFrame.url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
  }
  const busy = total - idle;
  const pct = (v: number) => `${((v / busy) * 100).toFixed(1)}%`;
  const lines = [`Busy ${((busy / total) * 100).toFixed(0)}% of the profiled time. Share of busy time by package:`, ''];
  lines.push(
    [...byPkg.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([k, v]) => `${k} ${pct(v)}`)
      .join(' · '),
  );
  lines.push('', `Top ${top} functions by self time (share of busy time):`, '');
  for (const [k, v] of [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`- ${pct(v)} ${k}`);
  return lines.join('\n');
}
