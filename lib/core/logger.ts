import { createRequire } from 'node:module';
import type { prettyFactory as PrettyFactory } from 'pino-pretty';

/**
 * The logging interface Symphony writes to: the subset of pino's API it uses, so a pino (or
 * pino-compatible) logger can be passed as `options.logger` unchanged. Every call takes a context
 * object first (room, connection, error) and a stable message second.
 */
export interface Logger {
  /** Detail for tracing one room or connection; not written at the default level. */
  debug(context: object, message: string): void;
  /** Lifecycle: start, rooms loaded and unloaded, checkpoints, shutdown. */
  info(context: object, message: string): void;
  /** Something refused or failed that Symphony recovers from: a bad client, a checkpoint to retry. */
  warn(context: object, message: string): void;
  /** A failure an operator should look at: a room that cannot be loaded or saved. */
  error(context: object, message: string): void;
  /** A logger that adds `bindings` to every record, as pino's `child`; without it Symphony logs to this logger unchanged. */
  child?(bindings: object): Logger;
}

/** The least severe level `createJsonLogger` writes; `silent` writes nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const levels: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

/** Serialises Errors (which JSON.stringify turns into `{}`) with their cause chain. */
function serialise(context: object): object {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    out[key] = value instanceof Error ? serialiseError(value) : value;
  }
  return out;
}

function serialiseError(error: Error): object {
  const extra = error as Error & { code?: unknown; cause?: unknown };
  return {
    type: error.name,
    message: error.message,
    ...(extra.code !== undefined ? { code: extra.code } : {}),
    stack: error.stack,
    ...(extra.cause instanceof Error ? { cause: serialiseError(extra.cause) } : {}),
  };
}

/** Options of `createJsonLogger`. */
export interface JsonLoggerOptions {
  /** The lowest level written. @default 'info' */
  level?: LogLevel;
  /** Fields added to every line (pino's bindings), e.g. `{ service: 'whiteboard' }`. @default {} */
  bindings?: object;
  /** Receives each finished line, newline included. @default writes to process.stderr */
  write?: (line: string) => void;
  /**
   * Readable lines (time, level, message, then the context indented below) instead of JSON, as
   * pino-pretty prints them.
   * @default process.stderr.isTTY: a person reads a terminal, a log pipeline reads a pipe or a file.
   */
  pretty?: boolean;
}

/** Turns one log record into the line written, newline included. */
type Format = (record: Record<string, unknown>) => string;

const jsonLine: Format = (record) => `${JSON.stringify(record)}\n`;

/**
 * pino-pretty's formatter, loaded only when a terminal will read the log, so a server whose log
 * goes to a pipe never loads it. It is CommonJS, hence `require`: the logger is made synchronously.
 */
function prettyLine(): Format {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as { prettyFactory: typeof PrettyFactory };
  return prettyFactory({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

/**
 * The default logger: on a terminal, readable lines; otherwise one JSON object per line, in
 * pino's shape (`level`, `time`, `msg`, bindings), so the same log pipeline reads either. Both
 * go to stderr.
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  return recordLogger({
    threshold: levels[options.level ?? 'info'],
    format: pretty ? prettyLine() : jsonLine,
    write: options.write ?? ((line: string) => process.stderr.write(line)),
    bindings: options.bindings ?? {},
  });
}

function recordLogger(settings: { threshold: number; format: Format; write: (line: string) => void; bindings: object }): Logger {
  const { threshold, format, write, bindings } = settings;
  const log = (level: Exclude<LogLevel, 'silent'>) => (context: object, msg: string) => {
    if (levels[level] < threshold) return;
    write(format({ level: levels[level], time: Date.now(), ...bindings, ...serialise(context), msg }));
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => recordLogger({ ...settings, bindings: { ...bindings, ...more } }),
  };
}

/** A logger that writes nothing, for tests and for apps that report through events and hooks instead. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};

export function childLogger(logger: Logger, bindings: object): Logger {
  return logger.child ? logger.child(bindings) : logger;
}
