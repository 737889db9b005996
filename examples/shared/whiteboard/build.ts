/**
 * Bundles the whiteboard (and with it yjs, y-websocket, y-indexeddb and the client SDK) into one
 * ES module for browsers: `public/build/whiteboard.js`.
 *
 *   tsx examples/shared/whiteboard/build.ts              # always build (npm run build:client)
 *   tsx examples/shared/whiteboard/build.ts --if-missing # build only when there is no bundle (npm start)
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { whiteboardBundleFile, whiteboardEntryFile } from './paths.js';

export interface BuildWhiteboardOptions {
  /** Skip the build when the bundle already exists. @default false */
  ifMissing?: boolean;
  /** Minify the bundle. @default true */
  minify?: boolean;
}

/** Builds the bundle; resolves with false when `ifMissing` found one already. */
export async function buildWhiteboard(options: BuildWhiteboardOptions = {}): Promise<boolean> {
  if (options.ifMissing && existsSync(whiteboardBundleFile)) return false;
  await esbuild.build({
    entryPoints: [whiteboardEntryFile],
    outfile: whiteboardBundleFile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ifMissing = process.argv.includes('--if-missing');
  buildWhiteboard({ ifMissing }).then(
    (built) => console.error(built ? `built ${whiteboardBundleFile}` : `using the existing ${whiteboardBundleFile}`),
    (error: unknown) => {
      console.error('whiteboard build failed:', error);
      process.exitCode = 1;
    },
  );
}
