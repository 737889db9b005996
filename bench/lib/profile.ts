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

const NODE_MODULES = 'node_modules/';

/** The installed package a script belongs to (`name` or `@scope/name`) and its file name, or null for other scripts. */
function installedPackage(url: string): { name: string; file: string } | null {
  const at = url.lastIndexOf(NODE_MODULES);
  if (at < 0) return null;
  const parts = url.slice(at + NODE_MODULES.length).split('/');
  return { name: parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0], file: parts[parts.length - 1] };
}

/** Where a function is defined, short: package/file, node:module, or the path inside the project. */
function where(url: string): string {
  if (!url) return '(native)';
  const installed = installedPackage(url);
  if (installed) return `${installed.name}/${installed.file}`;
  if (url.startsWith('node:')) return url;
  const projectPath = /\/work\/[^/]+\/(.*)$/.exec(url) ?? /([^/]+\/[^/]+)$/.exec(url);
  return projectPath ? projectPath[1] : url;
}

/** Who owns the time: a package, Node itself, or this project. */
function ownerOf(url: string): string {
  if (!url) return '(native, GC, idle)';
  const installed = installedPackage(url);
  if (installed) return installed.name;
  return url.startsWith('node:') ? 'node internals' : 'project code';
}

/** Self time of every profile node. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const time = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => time.set(nodeId, (time.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  return time;
}

/** The newest main-thread profile in the directory (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread, others are e.g. the module-loader hooks thread). */
function newestMainThreadProfile(dir: string): CpuProfile | null {
  const files = readdirSync(dir)
    .filter((file) => file.endsWith('.cpuprofile') && file.split('.')[4] === '0')
    .sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
  return files.length ? (JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as CpuProfile) : null;
}

const byTimeDescending = (entries: Map<string, number>) => [...entries.entries()].sort((a, b) => b[1] - a[1]);

export function summariseProfile(dir: string, top = 20): string {
  const profile = newestMainThreadProfile(dir);
  if (!profile) return '(no profile written)';
  const time = selfTimes(profile);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const nodeTime = time.get(node.id) ?? 0;
    total += nodeTime;
    const { functionName, url } = node.callFrame;
    if (functionName === '(idle)') {
      idle += nodeTime;
      continue;
    }
    const key = `${functionName || '(anonymous)'} — ${where(url)}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + nodeTime);
    const owner = functionName === '(garbage collector)' ? 'garbage collector' : ownerOf(url);
    byPackage.set(owner, (byPackage.get(owner) ?? 0) + nodeTime);
  }
  const busy = total - idle;
  const shareOfBusy = (nodeTime: number) => `${((nodeTime / busy) * 100).toFixed(1)}%`;
  const lines = [`Busy ${((busy / total) * 100).toFixed(0)}% of the profiled time. Share of busy time by package:`, ''];
  lines.push(
    byTimeDescending(byPackage)
      .slice(0, 10)
      .map(([owner, ownerTime]) => `${owner} ${shareOfBusy(ownerTime)}`)
      .join(' · '),
  );
  lines.push('', `Top ${top} functions by self time (share of busy time):`, '');
  for (const [key, functionTime] of byTimeDescending(byFunction).slice(0, top)) lines.push(`- ${shareOfBusy(functionTime)} ${key}`);
  return lines.join('\n');
}
