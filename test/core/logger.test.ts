import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { stripVTControlCharacters } from 'node:util';
import { createJsonLogger } from '../../lib/index.js';

function capture(options: Parameters<typeof createJsonLogger>[0] = {}): { lines: string[]; logger: ReturnType<typeof createJsonLogger> } {
  const lines: string[] = [];
  return { lines, logger: createJsonLogger({ ...options, write: (line) => lines.push(line) }) };
}

describe('the default logger', () => {
  it('writes one JSON object per line in pino\'s shape when not pretty', () => {
    const { lines, logger } = capture({ pretty: false });
    logger.child!({ room: 'board-1' }).warn({ connection: 'c1', err: new Error('boom', { cause: new Error('disk') }) }, 'checkpoint failed');
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith('}\n'));
    const record = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(record.level, 40);
    assert.equal(record.msg, 'checkpoint failed');
    assert.equal(record.room, 'board-1');
    assert.equal(record.connection, 'c1');
    assert.equal(typeof record.time, 'number');
    assert.deepEqual((record.err as { message: string; cause: { message: string } }).cause.message, 'disk');
  });

  it('writes readable lines through pino-pretty when pretty', () => {
    const { lines, logger } = capture({ pretty: true });
    logger.child!({ room: 'board-1' }).info({ port: 3000 }, 'listening');
    logger.error({ err: new Error('store unreachable') }, 'checkpoint failed');
    assert.equal(lines.length, 2);
    const [listening, failed] = lines.map(stripVTControlCharacters);
    assert.match(listening, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening\n/);
    assert.match(listening, /^ {4}room: "board-1"$/m);
    assert.match(listening, /^ {4}port: 3000$/m);
    assert.match(failed, /^\[\d\d:\d\d:\d\d\.\d{3}\] ERROR: checkpoint failed\n/);
    assert.match(failed, /store unreachable/);
    assert.match(failed, /at .*logger\.test\.ts/, 'the stack is printed');
    assert.throws(() => JSON.parse(listening));
  });

  it('keeps the level threshold when pretty', () => {
    const { lines, logger } = capture({ pretty: true, level: 'warn' });
    logger.info({}, 'hidden');
    logger.warn({}, 'shown');
    assert.equal(lines.length, 1);
    assert.match(stripVTControlCharacters(lines[0]), /WARN: shown/);
  });

  it('is pretty by default exactly when stderr is a terminal', () => {
    const descriptor = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
    const loggedWith = (isTTY: boolean | undefined): string => {
      Object.defineProperty(process.stderr, 'isTTY', { value: isTTY, configurable: true, writable: true });
      const { lines, logger } = capture();
      logger.info({}, 'hello');
      return lines[0];
    };
    try {
      assert.equal(JSON.parse(loggedWith(undefined)).msg, 'hello');
      assert.equal(JSON.parse(loggedWith(false)).msg, 'hello');
      assert.match(stripVTControlCharacters(loggedWith(true)), /INFO: hello/);
    } finally {
      if (descriptor) Object.defineProperty(process.stderr, 'isTTY', descriptor);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
  });

  it('does not load pino-pretty when the log goes to a pipe', async () => {
    const script = `
      import { createRequire } from 'node:module';
      const { createJsonLogger } = await import('./lib/index.ts');
      createJsonLogger().info({}, 'hello');
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('pino-pretty'));
      const before = loaded();
      createJsonLogger({ pretty: true });
      process.stdout.write(JSON.stringify({ before, after: loaded() }));
    `;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script]);
    assert.equal(JSON.parse(stderr).msg, 'hello');
    assert.deepEqual(JSON.parse(stdout), { before: false, after: true });
  });
});
