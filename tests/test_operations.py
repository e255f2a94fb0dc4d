"""Operations: `learning doctor`, request ids and structured log lines."""
from __future__ import annotations

import json
import os
import logging

from flask_migrate import upgrade

from learning import create_app
from learning.logs import JsonFormatter, RequestIdFilter

SECRET = "doctor-must-not-print-this-secret"


def doctor(app):
    return app.test_cli_runner().invoke(args=["doctor"])


def test_doctor_on_a_migrated_database_finds_only_warnings(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.db'}", "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": SECRET})
    with app.app_context():
        upgrade()
    result = doctor(app)
    assert result.exit_code == 0, result.output
    assert "[ok   ] migrations: database at the newest migration" in result.output
    assert "[warn ] rate limits: kept in each process's memory" in result.output
    assert "[warn ] scheduler: no recent heartbeat" in result.output
    assert SECRET not in result.output and "SECRET_KEY = (set, hidden)" in result.output


def test_doctor_names_what_is_wrong(tmp_path):
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}", "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": SECRET, "TIMEZONE": "Mars/Olympus", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
        "SCHEDULES": {"remind_behind": "every morning"}, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": 1,
    })
    result = doctor(app)
    assert result.exit_code == 1
    out = result.output
    assert "LEARNING_TIMEZONE='Mars/Olympus' is not a known time zone" in out
    assert "empty.db does not exist: run `learning db upgrade`" in out
    assert "LEARNING_SCHEDULE_REMIND_BEHIND='every morning'" in out
    assert "[error] rate limits: redis://127.0.0.1:1/0" in out
    assert "[error] email: 127.0.0.1:1" in out


def test_doctor_hides_the_database_password_and_reports_a_database_that_does_not_answer(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://learning:pw-in-url-123@127.0.0.1:1/learning",
                      "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": SECRET})
    result = doctor(app)
    assert result.exit_code == 1
    assert "pw-in-url-123" not in result.output and "learning:***@127.0.0.1:1" in result.output
    assert "[error] database: cannot connect" in result.output


def test_requests_carry_an_id_from_the_proxy_or_a_new_one(client):
    given = client.get("/healthz", headers={"X-Request-ID": "proxy-7f3a9c21"})
    assert given.headers["X-Request-ID"] == "proxy-7f3a9c21"
    made = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert made.headers["X-Request-ID"] != "<script>" and len(made.headers["X-Request-ID"]) == 32


def test_log_lines_are_json_with_the_request_id(app):
    record = logging.LogRecord("learning.test", logging.WARNING, __file__, 1, "quota %s", ("exceeded",), None)
    record.member = 42
    with app.test_request_context("/", headers={"X-Request-ID": "req-12345678"}):
        app.preprocess_request()
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "quota exceeded" and line["request_id"] == "req-12345678"
    assert line["level"] == "WARNING" and line["member"] == 42 and isinstance(line["pid"], int)


def test_proxy_fix_trusts_only_the_configured_number_of_proxies(tmp_path, database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": SECRET,
                      "TRUSTED_PROXIES": 1, "TESTING": True})

    @app.route("/_whoami")
    def whoami():
        from flask import request

        return {"remote": request.remote_addr, "scheme": request.scheme}

    seen = app.test_client().get("/_whoami", headers={"X-Forwarded-For": "10.0.0.9, 203.0.113.7",
                                                      "X-Forwarded-Proto": "https"}).get_json()
    assert seen == {"remote": "203.0.113.7", "scheme": "https"}


def _files(folder) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))} if folder.exists() else {}


def _doctor_command(env: dict, tmp_path):
    """`learning doctor` as an operator runs it: the console script's group, its own app."""
    from click.testing import CliRunner

    from learning.cli import main

    clean = {key: None for key in os.environ if key.startswith("LEARNING_")}
    return CliRunner().invoke(main, ["doctor"], env={**clean, **env}, catch_exceptions=False)


def test_doctor_writes_no_file_not_even_on_a_new_machine(tmp_path):
    instance = tmp_path / "instance"
    result = _doctor_command({"LEARNING_INSTANCE_PATH": str(instance)}, tmp_path)
    assert result.exit_code == 1
    assert f"[error] database: {instance / 'learning.db'} does not exist: run `learning db upgrade`" in result.output
    assert "[warn ] secret key: none yet: the first start creates" in result.output
    assert not instance.exists() and list(tmp_path.iterdir()) == []  # no folder, no key, no database

    app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'learning.db'}"})
    with app.app_context():
        upgrade()
        from learning.extensions import db

        db.engine.dispose()
    before = _files(instance)
    assert "secret_key" in before and "learning.db" in before
    result = _doctor_command({"LEARNING_INSTANCE_PATH": str(instance), "LEARNING_RATELIMIT_ENABLED": "0",
                              "LEARNING_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}, tmp_path)
    assert "[ok   ] migrations: database at the newest migration" in result.output, result.output
    assert "[warn ] rate limits: off (LEARNING_RATELIMIT_ENABLED=0)" in result.output
    assert "[warn ] passwords: LEARNING_PASSWORD_HASH_METHOD='pbkdf2:sha256:1000' is weak" in result.output
    assert _files(instance) == before  # nothing written, not even SQLite's -wal or -shm


def test_doctor_says_when_the_database_is_behind_the_code(tmp_path):
    from flask_migrate import stamp

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}", "INSTANCE_PATH": str(tmp_path),
                      "SECRET_KEY": SECRET})
    from alembic.script import ScriptDirectory

    from learning.config import MIGRATIONS_DIR

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    before = script.get_revision(head).down_revision
    with app.app_context():
        upgrade()
        stamp(revision=before)  # one migration behind the code, whichever is the newest
    result = doctor(app)
    assert result.exit_code == 1
    assert (f"[error] migrations: database at ['{before}'], code at ['{head}'] "
            "(behind the code): run `learning db upgrade`") in result.output
