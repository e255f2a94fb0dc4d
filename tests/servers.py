"""Servers the deployment tests start: `learning serve` (gunicorn) as an operator runs it."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import LEARNING, free_port


def serve(app, tmp_path, storage: str = "memory://", *, workers: int = 2, threads: int = 1, log=None,
          extra_env: dict | None = None, database_url: str | None = None):
    """Start ``learning serve``; its output goes to pipes, or to the open file ``log`` (a long run
    writes more than a pipe holds while nobody reads it).  ``extra_env`` adds or overrides settings;
    ``database_url`` replaces the test database (a pooler or a replica in front of it)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LEARNING_") or k.startswith(("LEARNING_MAX_REQUESTS", "LEARNING_WORKER_CLASS"))}
    env.update({
        "LEARNING_DATABASE_URL": database_url or app.config["SQLALCHEMY_DATABASE_URI"],
        "LEARNING_INSTANCE_PATH": str(tmp_path / "instance"),
        "LEARNING_SECRET_KEY": "test-secret-key-not-for-production",
        "LEARNING_SESSION_COOKIE_SECURE": "0",
        "LEARNING_RATELIMIT_STORAGE_URI": storage,
        "LEARNING_LOGIN_RATE_LIMIT": "5 per minute",
        "LEARNING_LOG_FORMAT": "json",
    })
    env.update(extra_env or {})
    process = subprocess.Popen([LEARNING, "serve", "--workers", str(workers), "--threads", str(threads),
                                "--bind", f"127.0.0.1:{port}"],
                               env=env, stdout=log or subprocess.PIPE, stderr=log or subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return process, base
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"learning serve did not start: {(process.communicate()[1] or '')[-2000:]}")


def stop(process) -> list[dict]:
    process.terminate()
    _out, err = process.communicate(timeout=30)
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]
