"""A small shared cache for figures many people look at at once (campaign leaderboards, the city's
rankings page).

With ``LEARNING_CACHE_URL`` (``redis://…``) every worker shares one Redis; with ``file:///folder``
the workers of one machine share a folder (what ``learning serve`` gives its gunicorn workers when
no Redis is configured: a folder of its own for the run); without either each process keeps its
own copy in memory (the embedded server, tests).  Values are JSON.  ``claim`` is a short lock (SET NX with an
expiry) so that, when a figure goes stale, one worker rebuilds it while the others serve the last
one instead of all rebuilding at once.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import current_app


class MemoryCache:
    """One worker's cache: a dict with expiry times."""

    def __init__(self, max_items: int = 100_000):
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._max = max_items

    def get(self, key: str) -> Any:
        found = self._items.get(key)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def get_many(self, keys: list[str]) -> list[Any]:
        return [self.get(k) for k in keys]

    def set_many(self, values: dict[str, Any], ttl: int) -> None:
        expires = time.monotonic() + ttl
        with self._lock:
            if len(self._items) + len(values) > self._max:
                now = time.monotonic()
                self._items = {k: v for k, v in self._items.items() if v[0] >= now}
                if len(self._items) + len(values) > self._max:
                    self._items.clear()
            for key, value in values.items():
                # a copy through JSON, as Redis would give: no caller can change what others read
                self._items[key] = (expires, json.loads(json.dumps(value)))

    def claim(self, key: str, ttl: int) -> bool:
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] >= time.monotonic():
                return False
            self._items[key] = (time.monotonic() + ttl, True)
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class RedisCache:
    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def get(self, key: str) -> Any:
        raw = self._redis.get(key)
        return None if raw is None else json.loads(raw)

    def get_many(self, keys: list[str]) -> list[Any]:
        return [None if raw is None else json.loads(raw) for raw in self._redis.mget(keys)] if keys else []

    def set_many(self, values: dict[str, Any], ttl: int) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key, value in values.items():
            pipe.set(key, json.dumps(value, ensure_ascii=False, separators=(",", ":")), ex=ttl)
        pipe.execute()

    def claim(self, key: str, ttl: int) -> bool:
        return bool(self._redis.set(key, b"1", nx=True, ex=ttl))

    def release(self, key: str) -> None:
        self._redis.delete(key)


class FileCache:
    """The processes of one machine sharing a folder: a file per key, replaced whole (``os.replace``),
    its modification time set to when it expires; a claim is a file created exclusively.  Expired
    files are swept now and then by whoever writes."""

    SWEEP_SECONDS = 60

    def __init__(self, folder: str):
        self._folder = Path(folder)
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._swept = time.time()

    def _path(self, key: str, kind: str = "value") -> Path:
        return self._folder / f"{hashlib.sha256(key.encode()).hexdigest()}.{kind}"

    def get(self, key: str) -> Any:
        path = self._path(key)
        try:
            if path.stat().st_mtime < time.time():
                return None
            return json.loads(path.read_bytes())
        except (FileNotFoundError, ValueError):
            return None

    def get_many(self, keys: list[str]) -> list[Any]:
        return [self.get(k) for k in keys]

    @staticmethod
    def _partial(path: Path) -> Path:
        """Where this thread writes ``path`` before it is put in place."""
        return path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")

    def _write(self, path: Path, data: bytes, expires: float) -> None:
        partial = self._partial(path)
        partial.write_bytes(data)
        os.utime(partial, (expires, expires))
        os.replace(partial, path)

    def set_many(self, values: dict[str, Any], ttl: int) -> None:
        expires = time.time() + ttl
        for key, value in values.items():
            self._write(self._path(key), json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), expires)
        if time.time() - self._swept > self.SWEEP_SECONDS:
            self.sweep()

    def claim(self, key: str, ttl: int) -> bool:
        path = self._path(key, "claim")
        partial = self._partial(path)
        partial.touch()
        expires = time.time() + ttl
        os.utime(partial, (expires, expires))
        try:
            for _ in range(2):
                try:
                    os.link(partial, path)  # made with its expiry, or not at all
                    return True
                except FileExistsError:
                    try:
                        if path.stat().st_mtime >= time.time():
                            return False
                        path.unlink()  # its holder died or overran: lapsed, as a Redis key would
                    except FileNotFoundError:
                        pass
            return False
        finally:
            partial.unlink(missing_ok=True)

    def release(self, key: str) -> None:
        self._path(key, "claim").unlink(missing_ok=True)

    def sweep(self) -> int:
        """Delete the files that have expired; how many."""
        now, gone = time.time(), 0
        self._swept = now
        for path in self._folder.iterdir():
            try:
                if path.stat().st_mtime < now - (3600 if path.suffix == ".partial" else 0):
                    path.unlink()
                    gone += 1
            except FileNotFoundError:
                pass
        return gone


def cache() -> MemoryCache | RedisCache | FileCache:
    """The app's cache (made on first use)."""
    app = current_app._get_current_object()
    found = app.extensions.get("learning-cache")
    if found is None:
        url = app.config.get("CACHE_URL") or ""
        if url.startswith(("redis://", "rediss://", "unix://")):
            found = RedisCache(url)
        elif url.startswith("file://"):
            found = FileCache(url.removeprefix("file://"))
        else:
            found = MemoryCache()
        app.extensions["learning-cache"] = found
    return found


def shared(key: str, compute, *, fresh_for: float = 0.0, wait: float = 30.0):
    """``compute()`` — unless the same ``key`` is being computed right now: then its result, when it
    is done (request coalescing: when many people open the same heavy page at once, one computes and
    the others wait for that result instead of all computing the same thing).  A result is never
    older than the wait for it, plus ``fresh_for`` seconds if the caller allows that.  The value
    must be JSON."""
    store = cache()
    asked = time.time()
    found = store.get(key)
    if found is not None and asked - found["at"] <= fresh_for:
        return found["value"]
    lock = f"{key}:computing"
    claimed = store.claim(lock, int(wait) + 1)
    while not claimed and time.time() < asked + wait:
        time.sleep(0.02)
        found = store.get(key)
        if found is not None and found["done"] >= asked:  # computed while this request waited
            return found["value"]
        claimed = store.claim(lock, int(wait) + 1)
    try:
        started = time.time()
        value = compute()
        store.set_many({key: {"at": started, "done": time.time(), "value": value}}, int(fresh_for) + 60)
        return value
    finally:
        if claimed:
            store.release(lock)
