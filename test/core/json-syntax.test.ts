import assert from 'node:assert/strict';
import { isJsonText } from '../../lib/core/protocol/json-syntax.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const valid = [
  '{}', '[]', 'null', 'true', 'false', '0', '-0', '12.5e-3', '1E+2', '"text"', ' \t\r\n{ "a" : [1, 2, {"b": null}] } \n',
  '{"user":{"name":"Zoë 🎵","color":"#ff8800"},"cursor":{"x":123.25,"y":-4}}', '"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"', '[[[[[]]]]]', '{"":""}',
];
const invalid = [
  '', ' ', '{', '}', '[', '{"a"}', '{"a":}', '{"a":1,}', '[1,]', '[,1]', '{a:1}', "{'a':1}", '01', '1.', '.5', '-', '+1', '1e', '1e+',
  'tru', 'nul', 'nulls', 'True', 'NaN', 'Infinity', '"unterminated', '"bad \\x escape"', '"\\u12"', '"\\u12G4"', '"tab\there"',
  '{} {}', '[1 2]', '{"a":1 "b":2}', '\uFEFF{}', '{"user": not json', 'undefined', '[1]]', '{"a":[}',
];

describe('isJsonText', () => {
  it('accepts every JSON text JSON.parse accepts', () => {
    for (const text of valid) assert.equal(isJsonText(bytes(text)), true, text);
  });

  it('refuses every text JSON.parse refuses', () => {
    for (const text of invalid) assert.equal(isJsonText(bytes(text)), false, JSON.stringify(text));
  });

  it('refuses invalid UTF-8 inside a string', () => {
    assert.equal(isJsonText(new Uint8Array([0x22, 0x61, 0xff, 0x62, 0x22])), false);
    assert.equal(isJsonText(new Uint8Array([0x22, 0xc3, 0xa9, 0x22])), true);
  });

  it('follows 100,000 levels of nesting without recursion', () => {
    const depth = 100_000;
    assert.equal(isJsonText(bytes('['.repeat(depth) + ']'.repeat(depth))), true);
    assert.equal(isJsonText(bytes('['.repeat(depth) + ']'.repeat(depth - 1))), false);
  });

  it('agrees with JSON.parse on 20,000 mutations of valid states', () => {
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n);
    const alphabet = '{}[]":,.-+eE0123456789 \\untrfalse';
    for (let i = 0; i < 20_000; i++) {
      const chars = [...valid[random(valid.length)]];
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(chars.length + 1);
        const op = random(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[random(alphabet.length)]);
        else chars[at] = alphabet[random(alphabet.length)];
      }
      const text = chars.join('');
      assert.equal(isJsonText(bytes(text)), parses(text), JSON.stringify(text));
    }
  });
});
