/** Command-line parsing for symphony-loadtest, with node:util's parseArgs. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULTS, type LoadTestConfig } from './config.js';
import type { Protocol } from './wire.js';
import type { DocMix } from './yjs-writer.js';

export interface CliOptions {
  config: LoadTestConfig;
  /** File to write the result to as JSON; '-' for stdout; null for none. */
  json: string | null;
  report: string | null;
  quiet: boolean;
  help: boolean;
  version: boolean;
  maxP99Ms: number | null;
  maxMissingPercent: number | null;
  /** Deprecated flags that were used, with what to use instead: printed, never fatal. */
  warnings: string[];
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "60s", "2m", "1.5h", "500ms", or a bare number of seconds, into milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`invalid duration "${text}" (use e.g. 500ms, 30s, 10m)`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']);
}

/** Parses "add:30,move:40,text:30" (or with "=") into the relative weights of the three kinds of edit. */
export function parseDocMix(text: string): DocMix {
  const mix: DocMix = { add: 0, move: 0, text: 0 };
  for (const part of text.split(',')) {
    const [kind, weight] = part.split(/[:=]/);
    if (!(kind in mix) || !(Number(weight) >= 0)) throw new Error(`invalid --doc-mix "${text}" (use e.g. add:30,move:40,text:30)`);
    mix[kind as keyof DocMix] = Number(weight);
  }
  if (mix.add + mix.move + mix.text <= 0) throw new Error('--doc-mix weights must not all be zero');
  return mix;
}

/**
 * parseArgs has no options whose value may be left out: `--json` alone means stdout, and
 * `--soak` alone (bench) the default soak time. Gives such a bare flag its default value
 * explicitly, so `--json out.json`, `--json=out.json` and `--json` all parse.
 */
export function withDefaultValue(argv: readonly string[], flag: string, value: string): string[] {
  return argv.map((token, index) => {
    const next = argv[index + 1];
    return token === flag && (next === undefined || next.startsWith('--')) ? `${flag}=${value}` : token;
  });
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;
/** What parseArgs returns for these options (strict, no positionals). */
export type ParsedOptions<T extends OptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>;

/** Runs node:util's parseArgs, with its errors reworded the way this tool words its own. */
export function parseOptions<T extends OptionsConfig>(argv: string[], options: T): ParsedOptions<T> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (error) {
    const message = (error as Error).message;
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new Error(`unknown option "${option}" (see --help)`);
    if (/argument missing/.test(message)) throw new Error(`${option} needs a value`);
    throw new Error(`${message} (see --help)`);
  }
}

/** A number option, at least `min`; undefined when the flag is absent. */
export function numberOption(name: string, text: string | undefined, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} needs a number >= ${min}, got "${text}"`);
  return value;
}

const integerOption = (name: string, text: string | undefined, min = 0) => {
  const value = numberOption(name, text, min);
  return value === undefined ? undefined : Math.floor(value);
};

export const HELP = `symphony-loadtest — load-test a Yjs WebSocket server (Symphony, y-websocket, Hocuspocus)

Usage:
  symphony-loadtest --url ws://host:port/collab [options]

Each virtual user opens a WebSocket to <url>/<room>, does the y-websocket sync handshake, then sends
real Yjs document updates (whiteboard shapes and text edits) and awareness updates (cursor positions)
at the given rates. Fan-out latency is measured at every other user of the room.

Load:
  --url <ws-url>          base URL; rooms are appended as /<room> (required)
  --users <n>             virtual users (default ${DEFAULTS.users})
  --room-size <n>         users per room (default ${DEFAULTS.roomSize})
  --doc-rate <n>          document updates per user per second (default ${DEFAULTS.docRate})
  --presence-rate <n>     awareness updates per user per second (default ${DEFAULTS.presenceRate})
  --duration <time>       steady phase after the ramp, e.g. 60s, 10m (default 60s)
  --ramp <time>           time over which users connect (default 10s)
  --drain <time>          wait for in-flight messages after sending stops (default 2s)
  --doc-mix <mix>         weights of edits, e.g. add:30,move:40,text:30 (default)
  --preload <n>           each room's first user uploads a document of n edits on joining
  --room-prefix <s>       room name prefix (default lt-<random>-)
  --seed <n>              seed for the generated content (default 1)
  --workers <n>           generator threads (default 1; only helps with more than one free core)

Server:
  --protocol <p>          y-websocket (default) or hocuspocus
  --header "K: V"         extra upgrade request header (repeatable), e.g. a session cookie
  --query <k=v&...>       query string added to every WebSocket URL (e.g. an auth token)
  --auth-token <s>        the server's token, sent in the hocuspocus auth message
  --connect-timeout <t>   connect + sync handshake timeout per user (default 15s)
  --dashboard <url>       Symphony dashboard base URL (e.g. http://host:port/admin); the server's
                          CPU and memory are read from <dashboard>/api/stats during the run
  --dashboard-token <s>   the dashboard's API token (sent as "Authorization: Bearer <s>");
                          --token is its former name, still accepted with a warning

Output:
  --json [file]           write the result as JSON to file (or to stdout when no file is given)
  --report <file.html>    write an HTML page with latency and throughput charts
  --quiet                 no progress bar
  --max-p99 <ms>          exit with code 3 if the document or presence p99 exceeds this
  --max-missing <pct>     exit with code 3 if more than pct % of document updates went missing
  --help, --version

Exit codes: 0 done, 1 usage or fatal error, 2 no connection succeeded, 3 a --max-* threshold was missed.
`;

const OPTIONS = {
  url: { type: 'string' },
  users: { type: 'string' },
  'room-size': { type: 'string' },
  'doc-rate': { type: 'string' },
  'presence-rate': { type: 'string' },
  duration: { type: 'string' },
  ramp: { type: 'string' },
  drain: { type: 'string' },
  'doc-mix': { type: 'string' },
  preload: { type: 'string' },
  'room-prefix': { type: 'string' },
  seed: { type: 'string' },
  workers: { type: 'string' },
  protocol: { type: 'string' },
  header: { type: 'string', multiple: true },
  query: { type: 'string' },
  'auth-token': { type: 'string' },
  'connect-timeout': { type: 'string' },
  dashboard: { type: 'string' },
  'dashboard-token': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'string' },
  report: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  'max-p99': { type: 'string' },
  'max-missing': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', short: 'v', default: false },
} as const satisfies OptionsConfig;

type Values = ParsedOptions<typeof OPTIONS>['values'];

/** Keeps only the options that were given, so the defaults of `DEFAULTS` stay where they are not. */
function given<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function protocolOption(text: string | undefined): Protocol | undefined {
  if (text === undefined || text === 'y-websocket' || text === 'hocuspocus') return text;
  throw new Error(`--protocol must be y-websocket or hocuspocus, got "${text}"`);
}

function headersOption(lines: string[] = []): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`--header needs "Name: value", got "${line}"`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

const durationOption = (text: string | undefined) => (text === undefined ? undefined : parseDuration(text));

function loadTestConfig(values: Values, warnings: string[]): LoadTestConfig {
  let dashboardToken = values['dashboard-token'];
  if (values.token !== undefined) {
    warnings.push('--token is deprecated: use --dashboard-token (the dashboard\'s API token; --auth-token is the server\'s)');
    dashboardToken ??= values.token;
  }
  return {
    ...DEFAULTS,
    ...given({
      url: values.url,
      users: integerOption('users', values.users, 1),
      roomSize: integerOption('room-size', values['room-size'], 1),
      docRate: numberOption('doc-rate', values['doc-rate']),
      presenceRate: numberOption('presence-rate', values['presence-rate']),
      durationMs: durationOption(values.duration),
      rampMs: durationOption(values.ramp),
      drainMs: durationOption(values.drain),
      docMix: values['doc-mix'] === undefined ? undefined : parseDocMix(values['doc-mix']),
      preloadOps: integerOption('preload', values.preload),
      roomPrefix: values['room-prefix'],
      seed: integerOption('seed', values.seed),
      workers: integerOption('workers', values.workers, 1),
      protocol: protocolOption(values.protocol),
      query: values.query?.replace(/^\?/, ''),
      authToken: values['auth-token'],
      connectTimeoutMs: durationOption(values['connect-timeout']),
      dashboard: values.dashboard,
      dashboardToken,
    }),
    headers: headersOption(values.header),
  };
}

export function parseCommandLine(argv: string[]): CliOptions {
  const { values } = parseOptions(withDefaultValue(argv, '--json', '-'), OPTIONS);
  const warnings: string[] = [];
  const config = loadTestConfig(values, warnings);
  const options: CliOptions = {
    config,
    json: values.json === undefined ? null : values.json || '-',
    report: values.report ?? null,
    quiet: values.quiet,
    help: values.help,
    version: values.version,
    maxP99Ms: numberOption('max-p99', values['max-p99']) ?? null,
    maxMissingPercent: numberOption('max-missing', values['max-missing']) ?? null,
    warnings,
  };
  if (!options.help && !options.version && !config.url) throw new Error('--url is required (see --help)');
  return options;
}
