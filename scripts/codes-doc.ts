/**
 * Generates docs/errors-and-close-codes.md, the one list of the WebSocket close codes and error codes
 * Symphony uses, from the code itself: the numbers and reasons from `CloseCode` and `CloseReason`,
 * the meaning of each from its doc comment, what the client SDK does from `decideAfterClose`, and
 * the error codes from every class that extends `SymphonyError` under lib/.
 *
 *   npm run docs:codes            # rewrite the file
 *
 * test/docs/codes.test.ts fails when the file is stale or the README's close-code table disagrees.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { decideAfterClose } from '../client/close-codes.js';
import { CloseCode, CloseReason, type CloseCodeName } from '../lib/core/protocol/close-codes.js';

const root = fileURLToPath(new URL('..', import.meta.url));
export const CODES_DOC_PATH = join(root, 'docs', 'errors-and-close-codes.md');
const CLOSE_CODES_SOURCE = join(root, 'lib', 'core', 'protocol', 'close-codes.ts');

export interface ErrorCodeEntry {
  code: string;
  className: string;
  /** Where the class is declared, relative to the repository root. */
  file: string;
  description: string;
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** The text of the `/** … *\/` comment right before a node, on one line. */
function docComment(node: ts.Node, source: ts.SourceFile): string {
  const ranges = ts.getLeadingCommentRanges(source.text, node.getFullStart()) ?? [];
  const doc = ranges.map((range) => source.text.slice(range.pos, range.end)).filter((text) => text.startsWith('/**')).pop();
  if (!doc) return '';
  return doc
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\*\s?/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('@'))
    .join(' ');
}

/** Doc comment of each property of the object literal assigned to `name` in `source`. */
function propertyComments(source: ts.SourceFile, name: string): Map<string, string> {
  const comments = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && node.name.getText(source) === name && node.initializer) {
      let literal: ts.Expression = node.initializer;
      while (ts.isAsExpression(literal) || ts.isSatisfiesExpression(literal) || ts.isParenthesizedExpression(literal)) literal = literal.expression;
      if (ts.isObjectLiteralExpression(literal)) {
        for (const property of literal.properties) comments.set(property.name!.getText(source), docComment(property, source));
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return comments;
}

function typeScriptFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return typeScriptFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every class under lib/ that extends `SymphonyError`, with the code it passes to `super`. */
export function errorCodes(): ErrorCodeEntry[] {
  const entries: ErrorCodeEntry[] = [];
  for (const file of typeScriptFiles(join(root, 'lib'))) {
    const source = parse(file);
    const visit = (node: ts.Node): void => {
      if (ts.isClassDeclaration(node) && node.name) {
        const base = node.heritageClauses?.find((clause) => clause.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression.getText(source);
        const code = base === 'SymphonyError' ? firstErrorCode(node) : null;
        if (code) entries.push({ code, className: node.name.text, file: relative(root, file), description: docComment(node, source) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return entries.sort((a, b) => a.code.localeCompare(b.code));
}

function firstErrorCode(node: ts.Node): string | null {
  if (ts.isStringLiteral(node) && node.text.startsWith('SYMPHONY_ERR_')) return node.text;
  return ts.forEachChild(node, firstErrorCode) ?? null;
}

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

function clientReaction(code: number): string {
  const decision = decideAfterClose(code);
  const reconnect = { now: 'reconnects at once', backoff: 'reconnects with back-off', never: 'stops' }[decision.reconnect];
  return decision.error ? `${reconnect}; \`error\` event \`${decision.error.code}\`` : reconnect;
}

function closeCodeRows(): string[] {
  const comments = propertyComments(parse(CLOSE_CODES_SOURCE), 'CloseCode');
  const names = (Object.keys(CloseCode) as CloseCodeName[]).sort((a, b) => CloseCode[a] - CloseCode[b]);
  return names.map((name) => {
    const reason = (CloseReason as Partial<Record<string, string>>)[name];
    const cells = [String(CloseCode[name]), `\`${name}\``, reason ? `\`${reason}\`` : '–', comments.get(name) ?? '', clientReaction(CloseCode[name])];
    return `| ${cells.map(escapeCell).join(' | ')} |`;
  });
}

/** Reasons not named after a close code: more precise causes sent with one of the codes. */
function extraReasonRows(): string[] {
  const comments = propertyComments(parse(CLOSE_CODES_SOURCE), 'CloseReason');
  return Object.entries(CloseReason)
    .filter(([name]) => !(name in CloseCode))
    .map(([name, reason]) => `| \`${name}\` | \`${reason}\` | ${escapeCell(comments.get(name) ?? '')} |`);
}

export function renderCodesDoc(): string {
  const errors = errorCodes();
  return [
    '# Close codes and error codes',
    '',
    '<!-- Generated by `npm run docs:codes` (scripts/codes-doc.ts) from the code; do not edit by hand. -->',
    '',
    'Every WebSocket close code a Symphony server sends, and every error code its typed errors carry.',
    'A close reason is at most 123 bytes (RFC 6455) and stable: match on the code, show the reason.',
    '',
    '## WebSocket close codes (`CloseCode`, reasons in `CloseReason`)',
    '',
    '| code | name | reason | meaning, and what a client should do | Symphony client SDK |',
    '| --- | --- | --- | --- | --- |',
    ...closeCodeRows(),
    '',
    'Stock y-websocket providers reconnect after every close, with back-off. Codes 4400–4499 mirror',
    'HTTP 4xx: a decision of the server that reconnecting cannot change. A refused upgrade (authentication,',
    'an invalid room name) is answered with an HTTP status and never opens a socket.',
    '',
    ...(extraReasonRows().length
      ? ['More precise reasons, sent with one of the codes above:', '', '| name | reason | when |', '| --- | --- | --- |', ...extraReasonRows(), '']
      : []),
    '## Error codes (`SymphonyError.code`)',
    '',
    'Every error Symphony throws or rejects with on purpose is a `SymphonyError`: match on `code` (stable),',
    'not on the message. `room` names the room it concerns, and `cause` holds the underlying error.',
    '',
    '| code | class | when | declared in |',
    '| --- | --- | --- | --- |',
    ...errors.map((entry) => `| \`${entry.code}\` | \`${entry.className}\` | ${escapeCell(entry.description)} | \`${entry.file}\` |`),
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(CODES_DOC_PATH, renderCodesDoc());
  process.stdout.write(`written: ${relative(root, CODES_DOC_PATH)}\n`);
}
