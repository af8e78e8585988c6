"""Offline-first logging: the service worker, the app manifest and the page of what waits
on this phone to be sent (issue 13)."""
