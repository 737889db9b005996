import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { documentToJSON } from '../../../lib/index.js';
import { applyRestorePlan, planRestore } from '../../../lib/core/versions/restore-content.js';

/** A document as a server holds it: its top-level types untyped, as the update left them. */
function asServerSees(doc: Y.Doc): Y.Doc {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return copy;
}

function restore(live: Y.Doc, version: Y.Doc): Uint8Array[] {
  const updates: Uint8Array[] = [];
  const record = (update: Uint8Array) => updates.push(update);
  live.on('update', record);
  const plans = planRestore(live, version);
  live.transact(() => applyRestorePlan(plans), 'restore');
  live.off('update', record);
  return updates;
}

function paragraph(...runs: [string, Record<string, unknown>?][]): Y.XmlElement {
  const element = new Y.XmlElement('paragraph');
  const text = new Y.XmlText();
  let index = 0;
  for (const [content, attributes] of runs) {
    text.insert(index, content, attributes ?? {});
    index += content.length;
  }
  element.insert(0, [text]);
  return element;
}

describe('restoring a version’s content into a live document', () => {
  it('makes maps, arrays, text and XML equal to the version, as one update on top of the history', () => {
    const editor = new Y.Doc();
    editor.transact(() => {
      const shape = new Y.Map();
      shape.set('x', 1);
      editor.getMap('shapes').set('a', shape);
      editor.getMap('shapes').set('title', 'first');
      editor.getArray('order').push(['a', 'b', 'c']);
      editor.getText('notes').insert(0, 'Hello world 😀');
      editor.getXmlFragment('prosemirror').insert(0, [paragraph(['Intro']), paragraph(['Body ', {}], ['bold', { bold: true }])]);
    });
    const version = asServerSees(editor);
    const expected = documentToJSON(version);

    editor.transact(() => {
      (editor.getMap('shapes').get('a') as Y.Map<number>).set('x', 2);
      editor.getMap('shapes').set('added', true);
      editor.getMap('shapes').delete('title');
      editor.getArray('order').delete(1, 1);
      editor.getArray('order').push(['d']);
      editor.getText('notes').insert(5, ',');
      editor.getText('notes').format(0, 5, { italic: true });
      editor.getText('notes').delete(13, 2);
      const fragment = editor.getXmlFragment('prosemirror');
      ((fragment.get(1) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'New ');
      fragment.insert(2, [paragraph(['Added later'])]);
      editor.getArray('extra').push([1]);
    });
    const live = asServerSees(editor);
    const updates = restore(live, asServerSees(version));

    assert.equal(updates.length, 1, 'the restore is one transaction');
    assert.deepEqual(documentToJSON(live), { ...expected, extra: [] });
    // The editor receives the restore like any remote change and converges too.
    Y.applyUpdate(editor, updates[0]);
    assert.deepEqual(documentToJSON(editor), { ...expected, extra: [] });
  });

  it('keeps what the live document and the version share: an untouched paragraph is the same item', () => {
    const editor = new Y.Doc();
    editor.getXmlFragment('doc').insert(0, [paragraph(['Keep me']), paragraph(['Change me'])]);
    const version = asServerSees(editor);
    ((editor.getXmlFragment('doc').get(1) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'Please ');
    const live = asServerSees(editor);
    const kept = live.getXmlFragment('doc').get(0);
    restore(live, asServerSees(version));
    assert.equal(live.getXmlFragment('doc').get(0), kept);
    assert.deepEqual(documentToJSON(live), documentToJSON(version));
  });

  it('changes nothing when the document already equals the version', () => {
    const editor = new Y.Doc();
    editor.getText('t').insert(0, 'same');
    editor.getMap('m').set('k', { nested: [1, 2] });
    const live = asServerSees(editor);
    assert.deepEqual(restore(live, asServerSees(editor)), []);
  });

  it('empties top-level types the version did not have and fills those it had', () => {
    const before = new Y.Doc();
    before.getArray('list').push(['x']);
    const version = asServerSees(before);
    const after = new Y.Doc();
    Y.applyUpdate(after, Y.encodeStateAsUpdate(before));
    after.getArray('list').delete(0, 1);
    after.getText('later').insert(0, 'new text');
    const live = asServerSees(after);
    restore(live, asServerSees(version));
    assert.deepEqual(documentToJSON(live), { list: ['x'], later: '' });
  });

  it('can be undone by an undo manager that tracks the restore', () => {
    const editor = new Y.Doc();
    editor.getText('t').insert(0, 'version');
    const version = asServerSees(editor);
    editor.getText('t').insert(7, ' and later edits');
    const live = asServerSees(editor);
    const undo = new Y.UndoManager([live.getText('t')], { trackedOrigins: new Set(['restore']) });
    restore(live, asServerSees(version));
    assert.equal(live.getText('t').toString(), 'version');
    undo.undo();
    assert.equal(live.getText('t').toString(), 'version and later edits');
    undo.destroy();
  });
});
