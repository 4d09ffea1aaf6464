// Gözcü service worker: keeps the app shell available with no network, so
// the PWA starts offline and works from its IndexedDB replica.
//
// Rules:
// - The cache name carries a version, which `cargo xtask pwa` replaces with
//   a hash of the built shell (index.html, CSS, this file, the JS and the
//   wasm), so every build that changes the app is a new version. A changed sw.js installs beside the
//   running one and waits; the page shows "new version ready" and only
//   switches when the user clicks (message "skip-waiting"), so a reload
//   never interrupts a half-filled form unasked. Old caches are deleted on
//   activation.
// - Nothing under /api/ is ever cached: inventory data comes from the
//   server or from the app's own IndexedDB, never from here.
// - Shell files are fetched network first (a new deployment is picked up
//   at once), with a short timeout so a weak signal does not stall the
//   start, and the cached copy as fallback. Page navigations (any SPA
//   route) fall back to the cached index.html.
const VERSION = "dev";
const CACHE = `gozcu-shell-${VERSION}`;
// The file names match what `cargo xtask pwa` produces (wasm-bindgen's
// `--out-name gozcu_app`, see xtask/src/pwa.rs).
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
const NETWORK_TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  // `cache: reload` skips the HTTP cache, so the precache holds what the
  // server serves now.
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((u) => new Request(u, { cache: "reload" })))),
  );
  // The very first install has no page to disturb: take over at once.
  // Later versions wait for the user (see "message").
  if (!self.registration.active) {
    self.skipWaiting();
  }
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") {
    self.skipWaiting();
  }
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("gozcu-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/") || url.pathname === "/healthz") {
    return; // Straight to the network, never cached.
  }
  const navigation = req.mode === "navigate";
  const inShell = SHELL.includes(url.pathname);
  event.respondWith(
    withTimeout(fetch(req), NETWORK_TIMEOUT_MS)
      .then((resp) => {
        if (resp.ok && inShell) {
          const copy = resp.clone();
          caches.open(CACHE).then((cache) => cache.put(req, copy));
        }
        return resp;
      })
      .catch(() =>
        caches
          .match(req, { ignoreSearch: true })
          .then((hit) => hit || (navigation ? caches.match("/index.html") : Response.error())),
      ),
  );
});
