"""The shared cache: one computation for requests that arrive together, a fresh one afterwards."""
import threading
import time

from learning.cache import MemoryCache, cache, shared


def test_requests_at_once_share_one_computation_and_later_ones_compute_again(app):
    calls = []

    def compute():
        calls.append(1)
        time.sleep(0.3)
        return {"n": len(calls)}

    results = []

    def request():
        with app.app_context():
            results.append(shared("test:together", compute))

    with app.app_context():
        app.extensions["learning-cache"] = MemoryCache()
        threads = [threading.Thread(target=request) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(calls) == 1 and results == [{"n": 1}] * 8
        assert shared("test:together", compute) == {"n": 2}  # done before this request: computed again
        assert shared("test:together", compute, fresh_for=60) == {"n": 2}  # unless the caller allows its age
        assert isinstance(cache(), MemoryCache)


def test_a_failed_computation_releases_the_lock(app):
    with app.app_context():
        app.extensions["learning-cache"] = MemoryCache()

        def broken():
            raise RuntimeError("database went away")

        try:
            shared("test:broken", broken)
        except RuntimeError:
            pass
        assert shared("test:broken", lambda: [1, 2]) == [1, 2]


def test_values_come_back_as_copies(app):
    with app.app_context():
        store = MemoryCache()
        value = {"rows": [1, 2]}
        store.set_many({"k": value}, 10)
        value["rows"].append(3)
        assert store.get("k") == {"rows": [1, 2]}
        assert store.claim("lock", 10) and not store.claim("lock", 10)
        store.release("lock")
        assert store.claim("lock", 10)
