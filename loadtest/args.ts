/** Command-line parsing for symphony-loadtest (no dependencies). */
import { DEFAULTS, type LoadTestConfig } from './run.js';
import type { DocMix } from './yjs-writer.js';

export interface CliOptions {
  config: LoadTestConfig;
  json: string | null; // '-' for stdout
  report: string | null;
  quiet: boolean;
  help: boolean;
  version: boolean;
  maxP99Ms: number | null;
  maxMissingPercent: number | null;
}

/** Parses "60s", "2m", "1.5h", "500ms", or a bare number of seconds, into milliseconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`invalid duration "${v}" (use e.g. 500ms, 30s, 10m)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
}

export function parseDocMix(v: string): DocMix {
  const mix: DocMix = { add: 0, move: 0, text: 0 };
  for (const part of v.split(',')) {
    const [k, n] = part.split(/[:=]/);
    if (!(k in mix) || !(Number(n) >= 0)) throw new Error(`invalid --doc-mix "${v}" (use e.g. add:30,move:40,text:30)`);
    mix[k as keyof DocMix] = Number(n);
  }
  if (mix.add + mix.move + mix.text <= 0) throw new Error('--doc-mix weights must not all be zero');
  return mix;
}

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
  --auth-token <s>        token sent in the hocuspocus auth message
  --connect-timeout <t>   connect + sync handshake timeout per user (default 15s)
  --dashboard <url>       Symphony dashboard base URL (e.g. http://host:port/admin); the server's
                          CPU and memory are read from <dashboard>/api/stats during the run
  --token <s>             dashboard API token (sent as "Authorization: Bearer <s>")

Output:
  --json [file]           write the result as JSON to file (or to stdout when no file is given)
  --report <file.html>    write an HTML page with latency and throughput charts
  --quiet                 no progress bar
  --max-p99 <ms>          exit with code 3 if the document or presence p99 exceeds this
  --max-missing <pct>     exit with code 3 if more than pct % of document updates went missing
  --help, --version

Exit codes: 0 done, 1 usage or fatal error, 2 no connection succeeded, 3 a --max-* threshold was missed.
`;

export function parseArgs(argv: string[]): CliOptions {
  const config: LoadTestConfig = { ...DEFAULTS, headers: {} };
  const opts: CliOptions = { config, json: null, report: null, quiet: false, help: false, version: false, maxP99Ms: null, maxMissingPercent: null };
  const num = (name: string, v: string | undefined, min = 0): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${name} needs a number >= ${min}, got "${v ?? ''}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--url':
        config.url = value();
        break;
      case '--users':
        config.users = Math.floor(num(arg, value(), 1));
        break;
      case '--room-size':
        config.roomSize = Math.floor(num(arg, value(), 1));
        break;
      case '--doc-rate':
        config.docRate = num(arg, value());
        break;
      case '--presence-rate':
        config.presenceRate = num(arg, value());
        break;
      case '--duration':
        config.durationMs = parseDuration(value());
        break;
      case '--ramp':
        config.rampMs = parseDuration(value());
        break;
      case '--drain':
        config.drainMs = parseDuration(value());
        break;
      case '--doc-mix':
        config.docMix = parseDocMix(value());
        break;
      case '--preload':
        config.preloadOps = Math.floor(num(arg, value()));
        break;
      case '--room-prefix':
        config.roomPrefix = value();
        break;
      case '--seed':
        config.seed = Math.floor(num(arg, value()));
        break;
      case '--workers':
        config.workers = Math.floor(num(arg, value(), 1));
        break;
      case '--protocol': {
        const p = value();
        if (p !== 'y-websocket' && p !== 'hocuspocus') throw new Error(`--protocol must be y-websocket or hocuspocus, got "${p}"`);
        config.protocol = p;
        break;
      }
      case '--header': {
        const h = value();
        const c = h.indexOf(':');
        if (c <= 0) throw new Error(`--header needs "Name: value", got "${h}"`);
        config.headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
        break;
      }
      case '--query':
        config.query = value().replace(/^\?/, '');
        break;
      case '--auth-token':
        config.token = value();
        break;
      case '--connect-timeout':
        config.connectTimeoutMs = parseDuration(value());
        break;
      case '--dashboard':
        config.dashboard = value();
        break;
      case '--token':
        config.dashboardToken = value();
        break;
      case '--json':
        if (inline !== undefined) opts.json = inline || '-';
        else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) opts.json = argv[++i];
        else opts.json = '-';
        break;
      case '--report':
        opts.report = value();
        break;
      case '--quiet':
        opts.quiet = true;
        break;
      case '--max-p99':
        opts.maxP99Ms = num(arg, value());
        break;
      case '--max-missing':
        opts.maxMissingPercent = num(arg, value());
        break;
      case '--help':
      case '-h':
        opts.help = true;
        break;
      case '--version':
      case '-v':
        opts.version = true;
        break;
      default:
        throw new Error(`unknown option "${argv[i]}" (see --help)`);
    }
  }
  if (!opts.help && !opts.version && !config.url) throw new Error('--url is required (see --help)');
  return opts;
}
