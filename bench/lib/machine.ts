/** What a result was measured on: the machine, the peers' versions, the commit. Results are only comparable on the same. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const MEASURED_PACKAGES = ['@y/websocket-server', '@hocuspocus/server', 'ws', 'yjs', 'y-protocols'];

export interface MachineInfo {
  cpu: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  versions: Record<string, string>;
  commit: string;
  loadAverage: number[];
}

function installedVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')).version;
  } catch {
    return '?';
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
  } catch {
    return '';
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: `${cpus[0]?.model ?? '?'} × ${cpus.length}`,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    versions: Object.fromEntries(MEASURED_PACKAGES.map((name) => [name, installedVersion(name)])),
    commit: gitCommit(),
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}
