// The service worker: the app shell and the log form keep working with no network.
// Served at /sw.js (so it may look after every page) with its version filled in by the server.
// Pages are asked of the network first; Today, the log forms and the "waiting" page are kept
// as last seen, and offered when the network is away. Any other page says plainly that it
// needs the server. Posts, uploads and audio are never touched: they go to the network, and
// the pages keep what could not be sent (IndexedDB, see static/app.js).
"use strict";
var VERSION = "__VERSION__";
var SHELL = "crm-shell-" + VERSION;
var PAGES = "crm-pages";
var ASSETS = __ASSETS__;
var WAITING_PAGE = "__WAITING_PAGE__";
// Pages kept for offline use: Today, the log-a-visit form of a customer, the waiting page.
var KEPT = [/^\/$/, /^\/customers\/\d+\/follow-ups\/new$/, /^\/offline$/, /^\/follow-ups\/new$/];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return Promise.all(ASSETS.concat([WAITING_PAGE]).map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (response.ok && !response.redirected) { return cache.put(url, response); }
      }).catch(function () { /* kept next time */ });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf("crm-shell-") === 0 && key !== SHELL;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function kept(url) {
  return KEPT.some(function (pattern) { return pattern.test(url.pathname); });
}

function page(request) {
  var url = new URL(request.url);
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic" && !response.redirected && kept(url)) {
      var copy = response.clone();
      var cacheName = url.pathname === WAITING_PAGE ? SHELL : PAGES;
      caches.open(cacheName).then(function (cache) { cache.put(url.pathname, copy); });
    }
    if (url.pathname.indexOf("/login") === 0 && response.ok) {
      caches.delete(PAGES);  // signed out: no pages of the last account stay here
    }
    return response;
  }, function () {
    return caches.match(url.pathname).then(function (hit) {
      return hit || caches.match(WAITING_PAGE).then(function (waiting) {
        return waiting || new Response("<!doctype html><meta charset=utf-8><title>Offline</title>" +
          "<p>No network: this page needs the server. 没有网络：此页面需要连接服务器。</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
      });
    });
  });
}

function asset(request) {
  return caches.match(request, { ignoreSearch: true }).then(function (hit) {
    return hit || fetch(request);
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (ASSETS.indexOf(url.pathname) >= 0) {
    event.respondWith(asset(request));
  }
});
