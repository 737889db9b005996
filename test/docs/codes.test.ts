/**
 * The close codes and error codes are documented in one generated list
 * (docs/errors-and-close-codes.md) and in the README's table; both must say what the code does.
 * New codes are welcome: these tests only make a code without a row (or a row without a code) fail.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CloseCode } from '../../lib/core/protocol/close-codes.js';
import { CODES_DOC_PATH, errorCodes, renderCodesDoc } from '../../scripts/codes-doc.js';

/** The rows of the README's "Close codes" table, as name → number. */
function readmeCloseCodes(): Map<string, number> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const heading = readme.search(/^#{2,4} Close codes/m);
  assert.ok(heading >= 0, 'README has no "Close codes" section');
  const section = readme.slice(heading).split(/\n(?=#)/)[0];
  const rows = new Map<string, number>();
  for (const [, code, name] of section.matchAll(/^\|\s*(\d{4})\s*\|\s*`(\w+)`\s*\|/gm)) {
    assert.ok(!rows.has(name), `README lists ${name} twice`);
    rows.set(name, Number(code));
  }
  return rows;
}

describe('documented close codes and error codes', () => {
  it('the README close-code table lists every CloseCode with its number, and no code that does not exist', () => {
    const documented = readmeCloseCodes();
    const problems: string[] = [];
    for (const [name, code] of Object.entries(CloseCode)) {
      if (!documented.has(name)) problems.push(`${code} ${name} is in CloseCode but not in the README table`);
      else if (documented.get(name) !== code) problems.push(`${name} is ${code} in CloseCode but ${documented.get(name)} in the README table`);
    }
    for (const [name, code] of documented) {
      if (!(name in CloseCode)) problems.push(`${code} ${name} is in the README table but not in CloseCode`);
    }
    assert.deepEqual(problems, []);
  });

  it('docs/errors-and-close-codes.md is what the code generates (run `npm run docs:codes` after changing a code)', () => {
    assert.equal(readFileSync(CODES_DOC_PATH, 'utf8'), renderCodesDoc());
  });

  it('every SymphonyError subclass has its own stable SYMPHONY_ERR_ code and a comment saying when it is thrown', () => {
    const entries = errorCodes();
    assert.ok(entries.length >= 9, `found only ${entries.length} error classes: is the scan broken?`);
    const seen = new Map<string, string>();
    for (const entry of entries) {
      assert.match(entry.code, /^SYMPHONY_ERR_[A-Z_]+$/, entry.className);
      assert.ok(!seen.has(entry.code), `${entry.className} and ${seen.get(entry.code)} share ${entry.code}`);
      seen.set(entry.code, entry.className);
      assert.notEqual(entry.description, '', `${entry.className} (${entry.file}) has no doc comment`);
    }
  });

  it('every close code has a distinct number and a doc comment in the generated list', () => {
    const numbers = Object.values(CloseCode);
    assert.equal(new Set(numbers).size, numbers.length, 'two close codes share a number');
    const doc = renderCodesDoc();
    for (const [name, code] of Object.entries(CloseCode)) {
      const row = doc.split('\n').find((line) => line.startsWith(`| ${code} | \`${name}\` |`));
      assert.ok(row, `${name} missing from the generated list`);
      assert.doesNotMatch(row, /\|\s*\|/, `${name} has an empty cell: give it a doc comment in close-codes.ts`);
    }
  });
});
