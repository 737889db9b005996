/** Runs an engine in this thread or in a worker thread, behind one interface. */
import { Worker } from 'node:worker_threads';
import { LoadEngine, type EngineConfig, type EngineSnapshot } from './engine.js';

export interface EngineHandle {
  name: string;
  ready: Promise<void>;
  start(t0: string): Promise<void>;
  snapshot(): Promise<EngineSnapshot>;
  stopSending(): Promise<void>;
  close(): Promise<void>;
}

/** A request to a worker's engine (see worker.ts); id 0 is reserved for the worker's "ready". */
export interface WorkerRequest {
  id: number;
  type: 'start' | 'snapshot' | 'stop' | 'close';
  t0?: string;
}

export function engineInThisThread(config: EngineConfig): EngineHandle {
  const engine = new LoadEngine(config);
  return {
    name: 'main',
    ready: Promise.resolve(),
    start: async (t0) => engine.start(t0),
    snapshot: async () => engine.snapshot(),
    stopSending: async () => engine.stopSending(),
    close: () => engine.close(),
  };
}

function spawnWorker(config: EngineConfig): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./worker.js', self), { workerData: config });
  // Running from source (tsx): register tsx inside the worker before loading the .ts entry.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', self).href;
  const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(code, { eval: true, workerData: config });
}

export function engineInWorker(config: EngineConfig, workerNumber: number): EngineHandle {
  const worker = spawnWorker(config);
  let lastRequestId = 0;
  const pending = new Map<number, (value: unknown) => void>();
  let failure: Error | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: { id: number; data: unknown }) => {
      if (reply.id === 0) return resolve();
      const answer = pending.get(reply.id);
      pending.delete(reply.id);
      answer?.(reply.data);
    });
    worker.on('error', (error) => {
      failure = error;
      reject(error);
      for (const answer of pending.values()) answer(null);
      pending.clear();
    });
  });
  const call = <T>(type: WorkerRequest['type'], extra: Partial<WorkerRequest> = {}): Promise<T> => {
    if (failure) return Promise.reject(failure);
    const id = ++lastRequestId;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, (value) => (value === null && failure ? reject(failure) : resolve(value as T)));
      worker.postMessage({ ...extra, id, type } satisfies WorkerRequest);
    });
  };
  return {
    name: `worker-${workerNumber}`,
    ready,
    start: (t0) => call<void>('start', { t0 }),
    snapshot: () => call<EngineSnapshot>('snapshot'),
    stopSending: () => call<void>('stop'),
    close: async () => {
      await call<void>('close').catch(() => undefined);
      await worker.terminate();
    },
  };
}
