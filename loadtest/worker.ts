/** Worker-thread entry: runs one engine over its share of the rooms (see threads.ts, --workers). */
import { parentPort, workerData } from 'node:worker_threads';
import { LoadEngine, type EngineConfig } from './engine.js';
import type { WorkerRequest } from './threads.js';

const engine = new LoadEngine(workerData as EngineConfig);
const port = parentPort!;
port.postMessage({ id: 0, data: 'ready' });

port.on('message', async (request: WorkerRequest) => {
  const reply = (data: unknown, transfer: ArrayBuffer[] = []) => port.postMessage({ id: request.id, data }, transfer);
  if (request.type === 'start') {
    engine.start(request.t0!);
    reply(true);
  } else if (request.type === 'snapshot') {
    const snapshot = engine.snapshot();
    // The histograms' buckets move to the main thread instead of being copied.
    const histograms = [snapshot.docLatency, snapshot.presenceLatency, snapshot.handshake, snapshot.sendLag];
    reply(snapshot, histograms.map((histogram) => histogram.counts.buffer as ArrayBuffer));
  } else if (request.type === 'stop') {
    engine.stopSending();
    reply(true);
  } else if (request.type === 'close') {
    await engine.close();
    reply(true);
  }
});
