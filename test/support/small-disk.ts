import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { open, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SIZE = '2m';

/**
 * A small tmpfs in a private mount namespace: a real file system that fills up. A `sleep` holds
 * the namespace, so its files outlive the servers run inside it (`launcher`); the test reads and
 * writes them through `/proc/<holder>/root`. Needs root (mount) and util-linux (unshare, nsenter).
 */
export interface SmallDisk {
  /** The mount point, as a process inside the namespace sees it. */
  readonly directory: string;
  /** The same files, as this process sees them. */
  readonly hostPath: string;
  /** Prefix of a command to run it inside the namespace (`nsenter -t <holder> -m --`). */
  readonly launcher: readonly string[];
  /** Fills the file system to its last page. */
  fill(): Promise<void>;
  /** Removes what `fill` wrote. */
  free(): Promise<void>;
  close(): Promise<void>;
}

export const smallDisksAvailable = process.getuid?.() === 0 && process.platform === 'linux';

export async function createSmallDisk(): Promise<SmallDisk> {
  const directory = await mkdtemp(join(tmpdir(), 'symphony-small-disk-'));
  const holder: ChildProcess = spawn('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o size=${SIZE} tmpfs "$0" && echo mounted && exec sleep 900`, directory], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  holder.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('mounted')) resolve();
    });
    holder.once('exit', (code) => reject(new Error(`the small disk could not be mounted (exit ${code}): ${output}`)));
  });
  const hostPath = `/proc/${holder.pid}/root${directory}`;
  const filler = join(hostPath, 'filler');
  return {
    directory,
    hostPath,
    launcher: ['nsenter', '-t', String(holder.pid), '-m', `--wd=${process.cwd()}`, '--'],
    async fill() {
      const handle = await open(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024, 1);
      try {
        for (;;) await handle.write(chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        await handle.close();
      }
    },
    async free() {
      await unlink(filler);
    },
    async close() {
      if (holder.exitCode === null && holder.signalCode === null) {
        const exited = once(holder, 'exit');
        holder.kill('SIGKILL');
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
