// Gözcü service worker. For now it only keeps the app shell available
// (installable PWA, fast start); the offline-first inventory comes later.
//
// Rules:
// - The cache name carries a version: bump it whenever the shell's file
//   list changes, and old caches are deleted on activation.
// - Nothing under /api/ is ever cached: inventory data and sessions must
//   come from the server (and later from IndexedDB), never from here.
const CACHE = "gozcu-shell-v1";
const SHELL = [
  "/",
  "/index.html",
  "/style.css",
  "/manifest.webmanifest",
  "/pkg/gozcu_app.js",
  "/pkg/gozcu_app_bg.wasm",
  "/icons/icon.svg",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("gozcu-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/") || url.pathname === "/healthz") {
    return; // Straight to the network, never cached.
  }
  // Network first so a new deployment is picked up at once; the cached
  // shell is the fallback when the network fails. Page navigations (any
  // SPA route) fall back to the cached index.html.
  event.respondWith(
    fetch(req)
      .then((resp) => {
        if (resp.ok && SHELL.includes(url.pathname)) {
          const copy = resp.clone();
          caches.open(CACHE).then((cache) => cache.put(req, copy));
        }
        return resp;
      })
      .catch(() =>
        caches.match(req).then((hit) => hit || (req.mode === "navigate" ? caches.match("/index.html") : Response.error())),
      ),
  );
});
