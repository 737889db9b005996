import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** What a server says when the page was never built: the API works without it. */
export const PAGE_NOT_BUILT = 'The dashboard page is not built: run `npm run build` (or `npm run build:dashboard` in a source checkout); the API under api/ works without it.';

/**
 * The dashboard page: the static files `npm run build` puts in the package, held in memory (a few
 * tens of kilobytes). Nothing is built at run time: a published package ships the page, and a
 * source checkout builds it before it starts (`npm start` rebuilds `dashboard-ui/build` when its sources changed).
 */
export class DashboardPage {
  private readonly files: Promise<Map<string, PageFile> | null>;

  constructor(uiDirectory: string | null, logger: Logger) {
    this.files = loadPage(uiDirectory ?? builtPageDirectory(), logger);
  }

  /** The file at `path` (`/` is `index.html`), or null when there is none. */
  async serve(path: string, ifNoneMatch: string | undefined): Promise<DashboardResponse | null> {
    const files = await this.files;
    if (files === null) {
      return {
        status: 503,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
        body: `${PAGE_NOT_BUILT}\n`,
      };
    }
    const file = files.get(path === '/' ? 'index.html' : path.slice(1));
    if (!file) return null;
    if (ifNoneMatch === file.etag) return { status: 304, headers: { ...pageHeaders, etag: file.etag }, body: '' };
    return { status: 200, headers: { ...pageHeaders, 'content-type': file.contentType, etag: file.etag }, body: file.body };
  }
}

async function loadPage(directory: string, logger: Logger): Promise<Map<string, PageFile> | null> {
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
    logger.warn({ err: error, directory }, PAGE_NOT_BUILT);
    return null;
  }
}

/**
 * Where the built page is, seen from this module. Compiled (`dist/lib/dashboard/page.js`), the
 * package root is `dist/`, and `npm run build` put the page in `dist/dashboard-ui/build`. From
 * the sources (tsx), the root is the checkout: `npm run build:dashboard` writes
 * `dashboard-ui/build`, and a full `npm run build` wrote `dist/dashboard-ui/build` (what a
 * container that runs the sources after `npm run build` has). The first that holds a page wins.
 */
function builtPageDirectory(): string {
  const root = packageRoot();
  const candidates = [join(root, 'dashboard-ui', 'build'), join(root, 'dist', 'dashboard-ui', 'build')];
  return candidates.find((directory) => existsSync(join(directory, 'index.html'))) ?? candidates[0];
}

/** The nearest ancestor of this module holding `dashboard-ui/`: the package root, in the sources and in `dist/`. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let directory = here; ; directory = dirname(directory)) {
    if (existsSync(join(directory, 'dashboard-ui'))) return directory;
    if (dirname(directory) === directory) return here;
  }
}
