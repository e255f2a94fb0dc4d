// The service worker: the shell is cached at install; pages always come from the network (they are
// personal and no-store), with the offline page when there is none.
"use strict";
const CACHE = "shell-{{ version }}";
const SHELL = {{ shell|tojson }};
const OFFLINE = {{ url_for('pwa.offline')|tojson }};

// The shell is public: fetched without cookies, so that its responses never set one.  With the cookies of
// the page that installed the worker (often the login page) a late response could put the session of
// before the login back and sign the member out (seen as "form expired" on the next form).
self.addEventListener("install", (event) => {
  const requests = SHELL.map((url) => new Request(url, {credentials: "omit"}));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE)));
    return;
  }
  if (new URL(request.url).pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
  }
});
