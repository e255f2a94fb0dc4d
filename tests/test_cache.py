"""The shared cache: one computation for requests that arrive together, a fresh one afterwards."""
import json
import os
import threading
import time
from pathlib import Path

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


def test_a_folder_is_shared_by_two_caches_as_by_two_workers(tmp_path):
    from learning.cache import FileCache

    one, two = FileCache(str(tmp_path)), FileCache(str(tmp_path))
    one.set_many({"page": {"rows": ["王党员", 1]}}, 10)
    assert two.get("page") == {"rows": ["王党员", 1]} and two.get_many(["page", "other"]) == [{"rows": ["王党员", 1]}, None]
    assert one.claim("build", 10) and not two.claim("build", 10)  # one builder for both
    one.release("build")
    assert two.claim("build", 10)
    # an expired value or claim is gone, as a Redis key's would be
    two.set_many({"old": 1}, 0)
    assert two.claim("stale", 0)
    time.sleep(0.05)
    assert one.get("old") is None and one.claim("stale", 10)
    assert one.sweep() == 1 and one.get("page") == {"rows": ["王党员", 1]}  # only "old" had expired
    assert not list(tmp_path.glob("*.partial"))


def _compute_in_a_process(app, folder, log, ready):
    from learning.cache import FileCache

    with app.app_context():
        app.extensions["learning-cache"] = FileCache(folder)
        ready.wait(30)  # all four ask together, however late the machine started each

        def compute():
            with open(log, "a") as out:
                out.write(f"{os.getpid()}\n")
            time.sleep(1.5)  # long enough that the other three, past the barrier with it, have asked
            return {"by": os.getpid()}

        answer = shared("rankings:city", compute)
        (Path(log).parent / f"answer-{os.getpid()}").write_text(json.dumps(answer))


def test_processes_sharing_a_folder_compute_a_page_once(app, tmp_path):
    """Four processes (gunicorn's workers) ask for the same page at once: one computes it, the others
    wait for its result instead of computing it again."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    log, ready = tmp_path / "computed", context.Barrier(4)
    processes = [context.Process(target=_compute_in_a_process, args=(app, str(tmp_path / "cache"), log, ready))
                 for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    assert [p.exitcode for p in processes] == [0] * 4
    computed_by = [int(line) for line in log.read_text().split()]
    answers = [json.loads(path.read_text()) for path in tmp_path.glob("answer-*")]
    assert len(computed_by) == 1 and answers == [{"by": computed_by[0]}] * 4


def test_learning_serve_gives_its_workers_a_folder_of_their_own(monkeypatch, tmp_path):
    from learning import serving

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(serving.tempfile, "tempdir", None)  # read TMPDIR again
    monkeypatch.delenv("LEARNING_CACHE_URL", raising=False)
    hooks = []
    monkeypatch.setattr(serving.atexit, "register", hooks.append)
    folder = serving.shared_cache_folder({"CACHE_URL": ""})
    assert folder.startswith(str(tmp_path)) and os.environ["LEARNING_CACHE_URL"] == f"file://{folder}"
    assert (os.stat(folder).st_mode & 0o777) == 0o700
    hooks[0]()  # the server stops: its folder goes
    assert not os.path.exists(folder)
    monkeypatch.setenv("LEARNING_CACHE_URL", "redis://127.0.0.1:6379/1")
    assert serving.shared_cache_folder({"CACHE_URL": "redis://127.0.0.1:6379/1"}) is None
    assert os.environ["LEARNING_CACHE_URL"] == "redis://127.0.0.1:6379/1"


def test_without_a_writable_temporary_folder_each_worker_keeps_its_own(monkeypatch):
    from learning import serving

    def read_only(prefix):
        raise PermissionError(13, "Read-only file system", "/tmp")

    monkeypatch.setattr(serving.tempfile, "mkdtemp", read_only)
    monkeypatch.delenv("LEARNING_CACHE_URL", raising=False)
    assert serving.shared_cache_folder({"CACHE_URL": ""}) is None
    assert "LEARNING_CACHE_URL" not in os.environ
