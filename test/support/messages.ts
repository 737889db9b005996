import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import { awarenessFrame, syncStep1Frame, syncUpdateFrame } from '../../lib/core/protocol/frames.js';

/** Well-formed y-websocket messages, built with Yjs itself, for protocol-level tests. */
export function updateMessage(change: (doc: Y.Doc) => void): Uint8Array {
  const doc = new Y.Doc();
  let update: Uint8Array | null = null;
  doc.on('update', (u: Uint8Array) => {
    update = u;
  });
  change(doc);
  doc.destroy();
  if (!update) throw new Error('the change produced no update');
  return syncUpdateFrame(update);
}

export function stepOneMessage(): Uint8Array {
  return syncStep1Frame(Y.encodeStateVector(new Y.Doc()));
}

export function awarenessMessage(state: object): Uint8Array {
  const doc = new Y.Doc();
  const awareness = new awarenessProtocol.Awareness(doc);
  awareness.setLocalState(state);
  const update = awarenessProtocol.encodeAwarenessUpdate(awareness, [doc.clientID]);
  awareness.destroy();
  doc.destroy();
  return awarenessFrame(update);
}
