/** Worker-thread entry: runs one engine over its share of the rooms (see run.ts, --workers). */
import { parentPort, workerData } from 'node:worker_threads';
import { Engine, type EngineConfig } from './engine.js';

const engine = new Engine(workerData as EngineConfig);
parentPort!.postMessage({ id: 0, data: 'ready' });

parentPort!.on('message', async (m: { id: number; type: string; t0?: string }) => {
  if (m.type === 'start') {
    engine.start(m.t0!);
    parentPort!.postMessage({ id: m.id, data: true });
  } else if (m.type === 'snapshot') {
    const data = engine.snapshot();
    const transfer = [data.docHist.counts.buffer, data.presHist.counts.buffer, data.handshakeHist.counts.buffer, data.lagHist.counts.buffer];
    parentPort!.postMessage({ id: m.id, data }, transfer as ArrayBuffer[]);
  } else if (m.type === 'stop') {
    engine.stopSending();
    parentPort!.postMessage({ id: m.id, data: true });
  } else if (m.type === 'close') {
    await engine.close();
    parentPort!.postMessage({ id: m.id, data: true });
  }
});
