/* global self, caches, fetch, Response, URL */
/**
 * The whiteboard's service worker: it keeps the app shell (the page, its script, styles and icon)
 * so that reloading the page without a network still opens the board. The board's content does
 * not pass through here: the client SDK keeps it in IndexedDB.
 *
 * Network first: while the server is reachable every load gets the current build (and refreshes
 * the cache); the cache answers only when the network fails. Only the shell is intercepted, so the
 * host app's other pages and APIs on this origin are left alone.
 */
const CACHE = 'symphony-whiteboard-shell-v1';
const SHELL = ['/', '/whiteboard.css', '/build/whiteboard.js', '/favicon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('symphony-whiteboard-shell-') && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // The page is cached under "/" whatever its ?room= query.
  const key = request.mode === 'navigate' && url.pathname === '/' ? '/' : SHELL.includes(url.pathname) ? url.pathname : null;
  if (key === null) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)));
        }
        return response;
      })
      .catch(() => caches.match(key).then((cached) => cached ?? Response.error())),
  );
});
