import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The published name: `npm install symphony` would fetch somebody else's package. */
export const PACKAGE_NAME = 'symphony-collab';

/**
 * The compilers an app may type-check our declarations with: the project's own 5.9 line and the
 * native TypeScript 7, which lists no `types` by default, so a declaration that leans on
 * `@types/node` without referencing it breaks there first.
 */
export const COMPILERS = [
  { name: 'TypeScript 5.9', spec: 'typescript@~5.9.3', directory: 'typescript' },
  { name: 'TypeScript 7', spec: 'typescript-7@npm:typescript@7', directory: 'typescript-7' },
] as const;

export type Compiler = (typeof COMPILERS)[number];

/**
 * npm passes its own configuration to scripts as `npm_*` variables (`npm_config_local_prefix`
 * names this repository); an npm started from `npm test` must see none of it, or it may act on
 * the repository instead of the app.
 */
function npmEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD'));
}

/** Runs npm with output captured; a failure carries npm's own output. */
export async function npm(args: string[], cwd: string, timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('npm', args, { cwd, env: npmEnvironment(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  } catch (cause) {
    const { stdout = '', stderr = '' } = cause as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`, { cause });
  }
}

/** `npm run build` when there is no dist/ yet (CI builds before testing; a fresh clone has none). */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(join(repositoryRoot, 'dist/lib/index.js'))) return;
  await npm(['run', 'build'], repositoryRoot, 180_000);
}

export interface PackedTarball {
  readonly path: string;
  /** Every path inside the tarball, relative to the package root. */
  readonly files: readonly string[];
}

/** `npm pack` into `directory`. */
export async function pack(directory: string): Promise<PackedTarball> {
  const { stdout } = await npm(['pack', '--json', '--pack-destination', directory], repositoryRoot, 60_000);
  const [result] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  return { path: join(directory, result.filename), files: result.files.map((file) => file.path) };
}

/**
 * The README's TypeScript code blocks in "Add Symphony to your app" that import `subpath`
 * (e.g. `symphony-collab/express`): the test compiles what the reader copies.
 */
export async function readmeSnippet(subpath: string): Promise<string> {
  const readme = await readFile(join(repositoryRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('## Add Symphony to your app');
  if (start === -1) throw new Error('README.md has no "## Add Symphony to your app" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
  const matching = blocks.filter((block) => block.includes(`from '${subpath}'`));
  if (matching.length !== 1) throw new Error(`README.md's "Add Symphony to your app" has ${matching.length} ts blocks importing '${subpath}', expected 1`);
  return matching[0];
}

/**
 * The README snippets' `./sessions.js`: the app's own session check. `editor-token` is a user
 * who may edit every room; any other token is refused.
 */
export const SESSIONS_MODULE = `export interface User {
  id: string;
  canEdit(room: string): boolean;
}

const users = new Map<string, User>([['editor-token', { id: 'ada', canEdit: () => true }]]);

export const sessions = {
  async verify(token: string | null): Promise<User | null> {
    return (token && users.get(token)) || null;
  },
};
`;

/** A module that uses only the core package: no framework, no `@types` package listed anywhere. */
export const CORE_ONLY_MODULE = `import { attachSymphony, CloseCode, MemoryStore, type Symphony, type SymphonyOptions } from '${PACKAGE_NAME}';

const options: SymphonyOptions = { path: '/collab', store: new MemoryStore(), limits: { maxMessageBytes: 65_536 } };

export function attach(server: Parameters<typeof attachSymphony>[0]): Symphony {
  return attachSymphony(server, options);
}

export const retryLater: number = CloseCode.roomFull;
`;

/**
 * Strict, `module: nodenext`, and no `types` list (TypeScript 7 then loads no `@types`
 * package on its own) and no `skipLibCheck`: our declarations are checked as the app sees them.
 */
const APP_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'nodenext',
    strict: true,
    rootDir: '.',
    outDir: 'build',
  },
  include: ['server.ts', 'sessions.ts'],
};

const CORE_ONLY_TSCONFIG = {
  extends: './tsconfig.json',
  compilerOptions: { noEmit: true },
  include: [],
  files: ['core-only.ts'],
};

export interface AppFramework {
  /** `express` or `koa`: the subpath and the npm package. */
  readonly name: 'express' | 'koa';
  /** What `npm install` adds next to the tarball. */
  readonly packages: readonly string[];
}

export interface PackedApp {
  readonly directory: string;
  readonly framework: AppFramework;
  /** What `npm install` printed (stdout and stderr). */
  readonly installOutput: string;
  /** Runs `tsc -p <project> --noEmit` with one of `COMPILERS`; rejects with the compiler's errors. */
  typeCheck(compiler: Compiler, project: 'tsconfig.json' | 'tsconfig.core-only.json'): Promise<void>;
  /** The app's build: TypeScript 5.9 type-checks the README snippet and writes build/server.js (once). */
  build(): Promise<void>;
}

/**
 * A new app in `directory`: the README snippet as server.ts, the tarball, the framework and both
 * compilers installed the way an app installs them (one app per framework, as in real life).
 */
export async function createApp(directory: string, tarball: string, framework: AppFramework): Promise<PackedApp> {
  await mkdir(directory, { recursive: true });
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: `${framework.name}-app`, private: true, type: 'module' }, null, 2),
    'tsconfig.json': JSON.stringify(APP_TSCONFIG, null, 2),
    'tsconfig.core-only.json': JSON.stringify(CORE_ONLY_TSCONFIG, null, 2),
    'server.ts': await readmeSnippet(`${PACKAGE_NAME}/${framework.name}`),
    'sessions.ts': SESSIONS_MODULE,
    'core-only.ts': CORE_ONLY_MODULE,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(directory, name), text);
  const installed = await npm(
    ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...framework.packages, ...COMPILERS.map((compiler) => compiler.spec)],
    directory,
    180_000,
  );
  const compile = async (compiler: Compiler, project: string, emit: boolean): Promise<void> => {
    const tsc = join(directory, 'node_modules', compiler.directory, 'bin', 'tsc');
    try {
      await run(process.execPath, [tsc, '-p', project, '--pretty', 'false', ...(emit ? [] : ['--noEmit'])], { cwd: directory, timeout: 120_000 });
    } catch (cause) {
      const { stdout = '', stderr = '' } = cause as { stdout?: string; stderr?: string };
      throw new Error(`${compiler.name} found errors in ${framework.name}-app/${project}:\n${stdout}${stderr}`, { cause });
    }
  };
  let built: Promise<void> | undefined;
  return {
    directory,
    framework,
    installOutput: installed.stdout + installed.stderr,
    typeCheck: (compiler, project) => compile(compiler, project, false),
    build: () => (built ??= compile(COMPILERS[0], 'tsconfig.json', true)),
  };
}
