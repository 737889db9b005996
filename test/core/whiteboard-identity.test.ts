import assert from 'node:assert/strict';
import { CURSOR_COLORS, distinctFrom, type RoomMember } from '../../examples/shared/whiteboard/src/identity.js';

const member = (clientId: number, name: string, color: string, identitySettled = true): RoomMember => ({ clientId, name, color, identitySettled });
const me = (clientId: number, name: string, color: string, options: { identitySettled?: boolean; nameChosen?: boolean } = {}) => ({
  ...member(clientId, name, color, options.identitySettled ?? true),
  nameChosen: options.nameChosen ?? false,
});

describe("the whiteboard's rule for telling people apart (distinctFrom)", () => {
  it('keeps an identity nobody else in the room has', () => {
    assert.equal(distinctFrom(me(5, 'Swift Otter', '#e03131', { identitySettled: false }), [member(1, 'Calm Fox', '#1971c2')]), null);
  });

  it('gives a newcomer a name and a colour that nobody already in the room has', () => {
    const others = [member(9, 'Swift Otter', '#e03131'), member(12, 'Calm Fox', '#1971c2')];
    const change = distinctFrom(me(50, 'Swift Otter', '#e03131', { identitySettled: false }), others);
    assert.ok(change);
    assert.ok(!others.some((other) => other.name === change.name || other.color === change.color), JSON.stringify(change));
    assert.ok(CURSOR_COLORS.includes(change.color));
  });

  it('lets a settled user keep its identity when a newcomer has it too, whatever their client ids', () => {
    assert.equal(distinctFrom(me(50, 'Swift Otter', '#e03131'), [member(9, 'Swift Otter', '#e03131', false)]), null);
  });

  it('lets the lower client id keep the identity when two settled users share it', () => {
    assert.equal(distinctFrom(me(9, 'Swift Otter', '#e03131'), [member(50, 'Swift Otter', '#e03131')]), null);
    const change = distinctFrom(me(50, 'Swift Otter', '#e03131'), [member(9, 'Swift Otter', '#e03131')]);
    assert.ok(change && change.name !== 'Swift Otter' && change.color !== '#e03131');
  });

  it('changes only the colour when only the colour is shared', () => {
    const change = distinctFrom(me(50, 'Swift Otter', '#e03131'), [member(9, 'Calm Fox', '#e03131')]);
    assert.equal(change?.name, 'Swift Otter');
    assert.notEqual(change?.color, '#e03131');
  });

  it('never replaces a name the user typed', () => {
    const change = distinctFrom(me(50, 'Alice', '#e03131', { nameChosen: true }), [member(9, 'Alice', '#e03131')]);
    assert.equal(change?.name, 'Alice');
    assert.notEqual(change?.color, '#e03131');
  });

  it('keeps its colour when all eight are in use', () => {
    const others = CURSOR_COLORS.map((color, index) => member(index, `Person ${index}`, color));
    assert.equal(distinctFrom(me(50, 'Swift Otter', CURSOR_COLORS[0], { identitySettled: false }), others), null);
  });
});
