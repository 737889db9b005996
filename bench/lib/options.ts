/** The benchmark's command line (see the comment at the top of bench/run.ts), parsed with node:util's parseArgs. */
import { numberOption, parseDuration, parseOptions, withDefaultValue } from '../../loadtest/args.js';
import { SERVERS } from './servers.js';

export interface BenchOptions {
  mode: 'sweep' | 'soak' | 'memory' | 'join-storm';
  servers: string[];
  users: number[];
  durationMs: number;
  rampMs: number;
  repeat: number;
  roomSize: number;
  docRate: number;
  presenceRate: number;
  soakMs: number;
  soakUsers: number;
  memoryConnections: number;
  memoryRooms: number;
  /** Edits in the document each room's connection uploads in memory runs. */
  memoryPreload: number;
  /** Join storm: clients joining, the time they arrive within, and 10 KB inserts in the room's document. */
  stormJoiners: number;
  stormSpreadMs: number;
  stormChunks: number;
  serverCore: string | null;
  generatorCore: string | null;
  outDir: string;
  p99TargetMs: number;
  /** Symphony's target CPU per user-second as a share of each peer's (the sweep's default targets when absent). */
  targetRatios?: Record<string, number>;
  /** --ramp was given: memory runs then use it instead of their own slower ramp. */
  explicitRamp: boolean;
  nice: number;
  /** wait for other processes to leave the machine mostly idle before each run (max ms; 0: don't) */
  quietWaitMs: number;
  /** rerun a run whose server or generator waited more than this % of the time for its core */
  contentionRetryPct: number;
  retries: number;
  /** write a V8 CPU profile of each server under test and summarise it */
  profile: boolean;
}

export const DEFAULT_BENCH_OPTIONS: BenchOptions = {
  mode: 'sweep',
  servers: ['symphony', 'y-websocket', 'hocuspocus', 'relay'],
  users: [500, 1000, 2000],
  durationMs: 60_000,
  rampMs: 30_000,
  repeat: 3,
  roomSize: 4,
  docRate: 1,
  presenceRate: 5,
  soakMs: 600_000,
  soakUsers: 1000,
  memoryConnections: 10_000,
  memoryRooms: 10_000,
  memoryPreload: 200,
  stormJoiners: 150,
  stormSpreadMs: 1000,
  stormChunks: 2000,
  serverCore: '0',
  generatorCore: '1',
  outDir: 'bench/output',
  p99TargetMs: 50,
  explicitRamp: false,
  nice: 0,
  quietWaitMs: 90_000,
  contentionRetryPct: 20,
  retries: 1,
  profile: false,
};

/**
 * `--scenario big-rooms`: rooms of 50, 400 users, at the case-study rates per user, against the
 * peers that hold a room of 50 (Hocuspocus falls behind at this fan-out on one core and is left
 * out: add it with --servers). Flags given with it still win.
 */
const SCENARIOS: Record<string, Partial<BenchOptions>> = {
  'big-rooms': { roomSize: 50, users: [400], p99TargetMs: 100, targetRatios: { relay: 0.35 }, servers: ['symphony', 'symphony-direct', 'y-websocket', 'relay'] },
  'seed-mix': { roomSize: 4, users: [1200], p99TargetMs: 50, targetRatios: { 'y-websocket': 0.5 }, servers: ['symphony', 'symphony-direct', 'y-websocket', 'relay'] },
};

/** `--quick`: a smoke run. Flags given with it still win (`--quick --users 500`). */
const QUICK: Partial<BenchOptions> = { users: [200], durationMs: 10_000, rampMs: 5_000, repeat: 1 };

const OPTIONS = {
  quick: { type: 'boolean' },
  scenario: { type: 'string' },
  servers: { type: 'string' },
  users: { type: 'string' },
  duration: { type: 'string' },
  ramp: { type: 'string' },
  repeat: { type: 'string' },
  'room-size': { type: 'string' },
  'doc-rate': { type: 'string' },
  'presence-rate': { type: 'string' },
  soak: { type: 'string' },
  'soak-users': { type: 'string' },
  memory: { type: 'boolean' },
  'memory-connections': { type: 'string' },
  'memory-rooms': { type: 'string' },
  'memory-preload': { type: 'string' },
  'join-storm': { type: 'boolean' },
  'storm-joiners': { type: 'string' },
  'storm-spread': { type: 'string' },
  'storm-chunks': { type: 'string' },
  'server-core': { type: 'string' },
  'generator-core': { type: 'string' },
  'no-pin': { type: 'boolean' },
  'quiet-wait': { type: 'string' },
  retries: { type: 'string' },
  'contention-retry': { type: 'string' },
  profile: { type: 'boolean' },
  nice: { type: 'string' },
  out: { type: 'string' },
  'report-from': { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** What the command line asks for: a benchmark, the tables of an earlier one, or the help. */
export type BenchCommand = { kind: 'run'; options: BenchOptions } | { kind: 'report-from'; file: string } | { kind: 'help' };

/** Keeps only the fields that were given. */
function given<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

const duration = (text: string | undefined) => (text === undefined ? undefined : parseDuration(text));
/** `--nice` may be negative (a higher priority, as root). */
const signedNumber = (name: string, text: string | undefined) => (text === undefined ? undefined : numberOption(name, text, -Infinity));

function modeOf(soak: boolean, memory: boolean, joinStorm: boolean): BenchOptions['mode'] {
  if (Number(soak) + Number(memory) + Number(joinStorm) > 1) throw new Error('--soak, --memory and --join-storm are separate runs: give one of them');
  return soak ? 'soak' : memory ? 'memory' : joinStorm ? 'join-storm' : 'sweep';
}

function scenarioOf(name: string | undefined): Partial<BenchOptions> {
  if (name === undefined) return {};
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name} (known: ${Object.keys(SCENARIOS).join(', ')})`);
  return scenario;
}

export function parseBenchCommand(argv: string[]): BenchCommand {
  const { values } = parseOptions(withDefaultValue(argv, '--soak', `${DEFAULT_BENCH_OPTIONS.soakMs}ms`), OPTIONS);
  if (values.help) return { kind: 'help' };
  if (values['report-from'] !== undefined) return { kind: 'report-from', file: values['report-from'] };
  const mode = modeOf(values.soak !== undefined, values.memory === true, values['join-storm'] === true);
  const options: BenchOptions = {
    ...DEFAULT_BENCH_OPTIONS,
    // A soak measures Symphony's own drift over time: other servers only when asked for.
    ...(mode === 'soak' ? { servers: ['symphony'] } : {}),
    // A storm needs a server that holds the document and speaks the joiners' protocol.
    ...(mode === 'join-storm' ? { servers: ['symphony', 'y-websocket'], repeat: 1 } : {}),
    ...(values.quick ? QUICK : {}),
    ...scenarioOf(values.scenario),
    ...given({
      mode,
      servers: values.servers?.split(','),
      users: values.users?.split(',').map((users) => numberOption('users', users, 1)!),
      durationMs: duration(values.duration),
      rampMs: duration(values.ramp),
      explicitRamp: values.ramp !== undefined,
      repeat: numberOption('repeat', values.repeat, 1),
      roomSize: numberOption('room-size', values['room-size'], 1),
      docRate: numberOption('doc-rate', values['doc-rate']),
      presenceRate: numberOption('presence-rate', values['presence-rate']),
      soakMs: duration(values.soak),
      soakUsers: numberOption('soak-users', values['soak-users'], 1),
      memoryConnections: numberOption('memory-connections', values['memory-connections'], 1),
      memoryRooms: numberOption('memory-rooms', values['memory-rooms'], 1),
      memoryPreload: numberOption('memory-preload', values['memory-preload']),
      stormJoiners: numberOption('storm-joiners', values['storm-joiners'], 1),
      stormSpreadMs: duration(values['storm-spread']),
      stormChunks: numberOption('storm-chunks', values['storm-chunks'], 1),
      serverCore: values['no-pin'] ? null : values['server-core'],
      generatorCore: values['no-pin'] ? null : values['generator-core'],
      quietWaitMs: duration(values['quiet-wait']),
      retries: numberOption('retries', values.retries),
      contentionRetryPct: numberOption('contention-retry', values['contention-retry']),
      profile: values.profile,
      nice: signedNumber('nice', values.nice),
      outDir: values.out,
    }),
  };
  for (const server of options.servers) if (!SERVERS[server]) throw new Error(`unknown server ${server} (known: ${Object.keys(SERVERS).join(', ')})`);
  return { kind: 'run', options };
}
