import assert from 'node:assert/strict';
import request from 'supertest';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { awarenessFrame } from '../../lib/core/protocol/frames.js';
import { ClientPool, rawClient } from '../support/clients.js';
import { waitFor } from '../support/wait-for.js';
import { bearer, frameworks, startDashboardServer, type DashboardServer } from './support.js';

/** What the whiteboard writes: a map of shapes (each a Y.Map), their z-order in an array, strokes as arrays of points. */
function drawWhiteboard(doc: Y.Doc): void {
  doc.transact(() => {
    const shapes = doc.getMap<Y.Map<unknown>>('shapes');
    const rect = new Y.Map<unknown>();
    rect.set('kind', 'rect');
    rect.set('x', 10);
    rect.set('y', 20);
    rect.set('fill', '#ff0');
    shapes.set('r1', rect);
    const stroke = new Y.Map<unknown>();
    stroke.set('kind', 'stroke');
    const points = new Y.Array<number>();
    points.push([0, 0, 5, 5, 10, 3]);
    stroke.set('points', points);
    shapes.set('p1', stroke);
    doc.getArray<string>('order').push(['r1', 'p1']);
  });
}

/** What y-prosemirror writes for a heading and a paragraph with a bold word. */
function writeRichText(doc: Y.Doc): void {
  doc.transact(() => {
    const fragment = doc.getXmlFragment('prosemirror');
    const heading = new Y.XmlElement('heading');
    heading.setAttribute('level', '1');
    heading.insert(0, [new Y.XmlText('Release notes')]);
    const paragraph = new Y.XmlElement('paragraph');
    const text = new Y.XmlText();
    paragraph.insert(0, [text]);
    fragment.insert(0, [heading, paragraph]);
    text.insert(0, 'Ship it ');
    text.insert(8, 'today', { bold: {} });
    text.insert(13, ' & a<b.', { bold: null });
  });
}

const whiteboardJSON = {
  shapes: {
    r1: { kind: 'rect', x: 10, y: 20, fill: '#ff0' },
    p1: { kind: 'stroke', points: [0, 0, 5, 5, 10, 3] },
  },
  order: ['r1', 'p1'],
};

const richTextJSON = {
  prosemirror: {
    children: [
      { nodeName: 'heading', attributes: { level: '1' }, children: [{ text: 'Release notes' }] },
      {
        nodeName: 'paragraph',
        attributes: {},
        children: [{ text: [{ insert: 'Ship it ' }, { insert: 'today', attributes: { bold: {} } }, { insert: ' & a<b.' }] }],
      },
    ],
  },
};

for (const framework of frameworks) {
  describe(`GET /api/rooms/:room/document (${framework})`, () => {
    let app: DashboardServer;
    const clients = new ClientPool();
    before(async () => {
      app = await startDashboardServer(framework);
    });
    after(async () => {
      clients.destroyAll();
      await app.close();
    });

    const documentOf = async (room: string) => {
      const response = await request(app.server).get(`/admin/api/rooms/${encodeURIComponent(room)}/document`).set(bearer());
      assert.equal(response.status, 200);
      return response.body as { loaded: boolean; document: unknown };
    };

    for (const [kind, write, expected] of [
      ['a whiteboard', drawWhiteboard, whiteboardJSON],
      ['a rich-text editor', writeRichText, richTextJSON],
    ] as const) {
      it(`renders a document made by ${kind}, loaded and from the store, without knowing its types`, async () => {
        const room = `doc-${kind}`;
        const client = clients.open(app.collabUrl, encodeURIComponent(room));
        await client.synced();
        write(client.doc);
        await waitFor(() => app.symphony.room(room)?.unsaved === true, 'the server has the edit');
        const live = await documentOf(room);
        assert.equal(live.loaded, true);
        assert.deepEqual(live.document, expected);
        client.destroy();
        await waitFor(() => app.symphony.room(room) === undefined, 'room unloaded');
        const stored = await documentOf(room);
        assert.equal(stored.loaded, false);
        assert.deepEqual(stored.document, expected);
        assert.equal(app.symphony.room(room), undefined, 'reading the document does not load the room');
      });
    }

    it('renders a document and a presence state nested thousands of levels deep, cut at 256 levels, without a 500', async () => {
      // Host code is not held to limits.maxNestingDepth; a document stored before the limit existed is not either.
      await app.symphony.change('abyss', (doc) => {
        let map = doc.getMap('deep');
        for (let level = 0; level < 5_000; level++) {
          const child = new Y.Map<unknown>();
          map.set('c', child);
          map = child;
        }
      });
      const document = await request(app.server).get('/admin/api/rooms/abyss/document').set(bearer());
      assert.equal(document.status, 200);
      assert.match(JSON.stringify(document.body), /"truncated":"nested deeper than 256 levels"/);

      const socket = await rawClient(`${app.collabUrl}/abyss`);
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, 1);
      encoding.writeVarUint(encoder, 4242);
      encoding.writeVarUint(encoder, 1);
      encoding.writeVarString(encoder, '['.repeat(20_000) + ']'.repeat(20_000));
      socket.socket.send(awarenessFrame(encoding.toUint8Array(encoder)));
      // The server either keeps the state (answering the ping after it) or closes the sender over a presence limit.
      await new Promise((resolve) => {
        socket.socket.once('pong', resolve).once('close', resolve);
        socket.socket.ping();
      });
      const details = await request(app.server).get('/admin/api/rooms/abyss').set(bearer());
      assert.equal(details.status, 200);
      const presence = (details.body as { presence: { clientId: number; state: unknown }[] }).presence;
      // Kept (cut at 256 levels) or refused by the presence limits: either way the view renders.
      const deepState = presence.find((entry) => entry.clientId === 4242);
      if (deepState) assert.match(JSON.stringify(deepState.state), /"truncated":"nested deeper than 256 levels"/);
      socket.socket.close();
    });

    it('renders formatted plain text (a Quill editor) as a delta and unformatted text as a string', async () => {
      const client = clients.open(app.collabUrl, 'quill');
      await client.synced();
      client.doc.getText('quill').insert(0, 'Hello world');
      client.doc.getText('quill').format(6, 5, { italic: true });
      client.doc.getText('title').insert(0, 'Plain');
      await waitFor(() => app.symphony.room('quill')?.unsaved === true, 'the server has the edit');
      await waitFor(async () => JSON.stringify((await documentOf('quill')).document).includes('italic'), 'formatting arrived');
      assert.deepEqual((await documentOf('quill')).document, {
        quill: [{ insert: 'Hello ' }, { insert: 'world', attributes: { italic: true } }],
        title: 'Plain',
      });
      client.destroy();
    });
  });
}
