// The service worker: keeps the page's own files (the HTML shell, CSS, modules, vendor
// libraries, icons; highlight.js once used) so that a reload while the server is down
// still shows the app, which then says the server is unreachable. It never answers /api
// or /ws: those always go to the server. Network first, so an online page is always current; the cache is named by
// a hash of the files, so a new version replaces the old cache when it activates.

const VERSION = {{ version|tojson }};
const SHELL = {{ shell|tojson }}; // fetched at install; the first is the page
const LAZY = {{ lazy|tojson }}; // kept once the page has used them (highlight.js)
const CACHE = `webchat-shell-${VERSION}`;
const PREFIX = "webchat-shell-";

const shellUrls = new Set(SHELL.map((path) => new URL(path, self.location).href));
const keptUrls = new Set([...shellUrls, ...LAZY.map((path) => new URL(path, self.location).href)]);
const pageUrl = new URL(SHELL[0], self.location).href;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll([...shellUrls]))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys
      .filter((key) => key.startsWith(PREFIX) && key !== CACHE)
      .map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
});

/** The network's answer (kept for next time), or the cached copy when there is none. */
async function networkFirst(request, cacheKey) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic") {
      cache.put(cacheKey, response.clone());
    }
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  url.hash = "";
  if (request.mode === "navigate") {
    // The page itself (any query string, such as a LAN token, is the server's business).
    if (url.origin === self.location.origin && url.pathname === new URL(pageUrl).pathname) {
      event.respondWith(networkFirst(request, pageUrl));
    }
    return;
  }
  if (keptUrls.has(url.href)) event.respondWith(networkFirst(request, url.href));
});
