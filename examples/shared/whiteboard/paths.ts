import { fileURLToPath } from 'node:url';

/** The whiteboard's static files, served at `/` by both examples. */
export const whiteboardPublicDirectory = fileURLToPath(new URL('./public/', import.meta.url));

/** The browser bundle `npm run build:client` writes (yjs, y-websocket, y-indexeddb, the SDK and the app). */
export const whiteboardBundleFile = fileURLToPath(new URL('./public/build/whiteboard.js', import.meta.url));

/** The app's entry point. */
export const whiteboardEntryFile = fileURLToPath(new URL('./src/main.ts', import.meta.url));
