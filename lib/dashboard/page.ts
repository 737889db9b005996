import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '../core/logger.js';
import type { DashboardResponse } from './http.js';

interface PageFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/** The page runs only its own script and talks only to its own origin. */
const pageHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Revalidated at each load (cheap, with the ETag), so a rebuilt page is never served stale.
  'cache-control': 'no-cache',
};

/**
 * The dashboard page: the static files of `dashboard-ui/build`, held in memory (a few tens of
 * kilobytes). From a source checkout (`npm start`), the page is built on first use when it is
 * missing or older than its sources, so the server works before `npm run build`.
 */
export class DashboardPage {
  private readonly files: Promise<Map<string, PageFile> | null>;

  constructor(uiDirectory: string | null, logger: Logger) {
    this.files = loadPage(uiDirectory, logger);
  }

  /** The file at `path` (`/` is `index.html`), or null when there is none. */
  async serve(path: string, ifNoneMatch: string | undefined): Promise<DashboardResponse | null> {
    const files = await this.files;
    if (files === null) {
      return {
        status: 503,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        body: 'The dashboard page is not built: run `npm run build:dashboard` (the API under api/ works without it).\n',
      };
    }
    const file = files.get(path === '/' ? 'index.html' : path.slice(1));
    if (!file) return null;
    if (ifNoneMatch === file.etag) return { status: 304, headers: { ...pageHeaders, etag: file.etag }, body: '' };
    return { status: 200, headers: { ...pageHeaders, 'content-type': file.contentType, etag: file.etag }, body: file.body };
  }
}

async function loadPage(configured: string | null, logger: Logger): Promise<Map<string, PageFile> | null> {
  let directory = configured;
  if (directory === null) {
    const root = packageRoot();
    if (root === null) return null;
    directory = join(root, 'dashboard-ui', 'build');
    await buildFromSources(root, directory, logger);
  }
  try {
    const files = new Map<string, PageFile>();
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const type = contentTypes[extname(entry.name)];
      if (!entry.isFile() || type === undefined) continue;
      const body = await readFile(join(directory, entry.name));
      files.set(entry.name, { body, contentType: type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
    }
    if (!files.has('index.html')) throw new Error(`no index.html in ${directory}`);
    return files;
  } catch (error) {
    logger.warn({ err: error, directory }, 'dashboard page not found; run `npm run build:dashboard`');
    return null;
  }
}

/** The nearest ancestor of this module holding `dashboard-ui/`: the package root, in the sources and in `dist/`. */
function packageRoot(): string | null {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(directory, 'dashboard-ui'))) return directory;
    const parent = dirname(directory);
    if (parent === directory) return null;
    directory = parent;
  }
}

/**
 * Runs `dashboard-ui/build.ts` when it is there (a source checkout running under tsx). In an
 * installed package it is not, and the page built by `npm run build` is served as it is.
 */
async function buildFromSources(root: string, outDir: string, logger: Logger): Promise<void> {
  const script = join(root, 'dashboard-ui', 'build.ts');
  if (!existsSync(script)) return;
  try {
    const builder = (await import(pathToFileURL(script).href)) as {
      buildDashboardPage(options: { outDir: string; onlyIfStale: boolean }): Promise<{ built: boolean; bytes: number; durationMs: number }>;
    };
    const result = await builder.buildDashboardPage({ outDir, onlyIfStale: true });
    if (result.built) logger.info({ outDir, bytes: result.bytes, durationMs: Math.round(result.durationMs) }, 'dashboard page built');
  } catch (error) {
    logger.warn({ err: error, script }, 'building the dashboard page failed; run `npm run build:dashboard`');
  }
}
