import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { waitFor } from './wait-for.js';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ExampleProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  readonly collabUrl: string;
  /** Everything the process wrote to stderr (its structured log). */
  log(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no shutdown, no checkpoint. */
  kill(): Promise<void>;
}

/**
 * Runs an example server (`examples/<name>/server.ts`) as a child process, waits for /healthz.
 * `launcher` is a command that ends by exec-ing its arguments (e.g. `nsenter … --`), so that the
 * child's pid stays the server's and signals reach it.
 */
export async function startExample(name: 'express' | 'koa', env: Record<string, string> = {}, port?: number, launcher: readonly string[] = []): Promise<ExampleProcess> {
  const chosenPort = port ?? (await freePort());
  const command = [...launcher, process.execPath, '--import', 'tsx', `examples/${name}/server.ts`];
  const child = spawn(command[0], command.slice(1), {
    env: { ...process.env, PORT: String(chosenPort), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${chosenPort}`;
  const exited = once(child, 'exit');
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`example ${name} exited with ${child.exitCode}:\n${log}`);
      try {
        return (await fetch(`${baseUrl}/healthz`)).status === 200;
      } catch {
        return false;
      }
    },
    `example ${name} answers /healthz`,
    20_000,
  );
  return {
    child,
    port: chosenPort,
    baseUrl,
    collabUrl: `ws://127.0.0.1:${chosenPort}/collab`,
    log: () => log,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
