import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const defaultOutDir = join(here, 'build');

export interface BuildResult {
  readonly built: boolean;
  readonly outDir: string;
  /** Total size of the built files. */
  readonly bytes: number;
  readonly durationMs: number;
}

/**
 * Builds the dashboard page into `outDir`: `app.js` (the bundled TypeScript of `src/`), `app.css`
 * and `index.html`. `index.html` is written last, so its presence means a complete build, and its
 * age tells whether the sources changed since (`onlyIfStale`).
 */
export async function buildDashboardPage(options: { outDir?: string; onlyIfStale?: boolean } = {}): Promise<BuildResult> {
  const outDir = resolve(options.outDir ?? defaultOutDir);
  const started = performance.now();
  if (options.onlyIfStale && !(await isStale(outDir))) return { built: false, outDir, bytes: 0, durationMs: performance.now() - started };
  await mkdir(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [
      { in: join(here, 'src', 'main.ts'), out: 'app' },
      { in: join(here, 'styles.css'), out: 'app' },
    ],
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
  });
  await copyFile(join(here, 'index.html'), join(outDir, 'index.html'));
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return { built: true, outDir, bytes, durationMs: performance.now() - started };
}

async function isStale(outDir: string): Promise<boolean> {
  const built = await stat(join(outDir, 'index.html')).catch(() => null);
  if (!built) return true;
  const sources = [join(here, 'index.html'), join(here, 'styles.css'), fileURLToPath(import.meta.url)];
  for (const entry of await readdir(join(here, 'src'))) sources.push(join(here, 'src', entry));
  for (const source of sources) {
    if ((await stat(source)).mtimeMs > built.mtimeMs) return true;
  }
  return false;
}

/**
 * `tsx dashboard-ui/build.ts [outDir] [--if-stale]`: `npm run build` writes the page the package
 * ships (dist/dashboard-ui/build); `npm run build:dashboard` and `npm start` (with --if-stale, so a
 * start costs nothing when the sources did not change) write dashboard-ui/build for a checkout.
 */
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values, positionals } = parseArgs({ options: { 'if-stale': { type: 'boolean', default: false } }, allowPositionals: true });
  buildDashboardPage({ outDir: positionals[0], onlyIfStale: values['if-stale'] })
    .then(({ built, outDir, bytes, durationMs }) =>
      process.stdout.write(built ? `dashboard page built in ${Math.round(durationMs)} ms: ${outDir} (${Math.round(bytes / 1024)} KB)\n` : `dashboard page up to date: ${outDir}\n`),
    )
    .catch((error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    });
}
