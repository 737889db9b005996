import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import type { Middleware } from 'koa';

/**
 * Serves the files of `directory` for GET and HEAD requests (`/` is `index.html`); anything else
 * falls through to the next middleware. Just enough for the example, without another dependency.
 */
export function serveStatic(directory: string): Middleware {
  const root = resolve(directory);
  return async (context, next) => {
    if (context.method !== 'GET' && context.method !== 'HEAD') return next();
    let relative: string;
    try {
      relative = decodeURIComponent(context.path);
    } catch {
      return next();
    }
    if (relative.endsWith('/')) relative += 'index.html';
    const file = join(root, relative);
    // `join` normalises `..`: anything that leaves the directory is not ours to serve.
    if (!file.startsWith(root + sep) || relative.includes('\0')) return next();
    const stats = await stat(file).catch(() => null);
    if (!stats?.isFile()) return next();
    context.status = 200;
    context.type = extname(file);
    context.length = stats.size;
    context.lastModified = stats.mtime;
    // Revalidate every time: the service worker, not the HTTP cache, is what works offline.
    context.set('Cache-Control', 'no-cache');
    if (context.method === 'GET') context.body = createReadStream(file);
  };
}
