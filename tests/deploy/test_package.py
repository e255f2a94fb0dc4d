"""The wheel installs anywhere: built from the checkout, installed into a fresh virtualenv, run from
an empty directory outside the checkout, it migrates, loads the demo and serves the Chinese site.

This is what an operator does (docs/DEPLOY.md, "Install"); nothing here reads the checkout except
the build.  Run once per suite pass: on SQLite with the default instance folder in the working
directory, on PostgreSQL against a brand-new database.
"""
from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest

from learning import __version__
from tests.conftest import DB_KIND, free_port

REPO = Path(__file__).resolve().parents[2]


def run(args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: the build needs setuptools and Babel, both in the test virtualenv.
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", str(REPO), "-w", str(out)])
    (found,) = out.glob("learning-*.whl")
    return found


def test_the_wheel_carries_templates_migrations_content_and_compiled_catalogues(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = sorted(p.name for p in (REPO / "learning" / "migrations" / "versions").glob("*.py"))
    expected = {
        "learning/templates/base.html", "learning/templates/icons/home.svg", "learning/static/css/app.css",
        "learning/static/js/app.js", "learning/static/favicon.svg",
        "learning/migrations/alembic.ini", "learning/migrations/env.py", "learning/migrations/script.py.mako",
        "learning/content/points/rules.yaml", "learning/content/points/scoring.yaml",
        "learning/content/demo/members.csv", "learning/content/quizzes/quizzes.yaml",
        "learning/content/courses/party-constitution/media/oath-rhythm.wav",
        "learning/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
        *(f"learning/migrations/versions/{name}" for name in migrations),
    }
    assert expected <= names, sorted(expected - names)
    templates = {str(p.relative_to(REPO)) for p in (REPO / "learning" / "templates").rglob("*.html")}
    assert templates <= names and len(templates) > 40
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert f"learning-{__version__}-" in wheel.name

    # The catalogue in the wheel is compiled from the .po (the checkout's own .mo is not packed).
    from babel.messages.mofile import read_mo

    with zipfile.ZipFile(wheel).open("learning/translations/zh_Hans_CN/LC_MESSAGES/messages.mo") as mo:
        catalogue = read_mo(mo)
    assert catalogue.get("Log in").string == "登录"
    assert len(catalogue) > 500


def _opener():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _wait_for(url: str, log: Path, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{url} never answered:\n{log.read_text(errors='replace')[-3000:]}")


def test_installed_from_the_wheel_into_a_fresh_virtualenv_it_serves_the_chinese_site(
        wheel, tmp_path, empty_database_url):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)])
    site = tmp_path / "site"  # an empty directory, outside the checkout
    site.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "LEARNING_SESSION_COOKIE_SECURE": "0"}  # plain http in this test
    if DB_KIND == "postgresql":
        env["LEARNING_DATABASE_URL"] = empty_database_url
    learning = str(venv / "bin" / "learning")

    where = run([str(venv / "bin" / "python"), "-c", "import learning; print(learning.__file__)"], cwd=site, env=env)
    assert where.stdout.strip().startswith(str(venv)), where.stdout  # the installed copy, not the checkout
    assert run([learning, "--version"], cwd=site, env=env).stdout.strip() == f"learning {__version__}"
    run([learning, "db", "upgrade"], cwd=site, env=env)
    demo = run([learning, "demo"], cwd=site, env=env)
    assert "Member2026" in demo.stdout
    if DB_KIND == "sqlite":
        assert (site / "instance" / "learning.db").is_file()  # the instance folder is the working directory's

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([learning, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                                  cwd=site, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", log)
        opener = _opener()
        login_page = opener.open(f"{base}/login", timeout=10).read().decode()
        assert '<html lang="zh-CN">' in login_page and "<title>登录 · 党员学习</title>" in login_page
        stylesheet = re.search(r'href="(/static/css/app\.css[^"]*)"', login_page).group(1)
        css = opener.open(base + stylesheet.replace("&amp;", "&"), timeout=10)
        assert css.status == 200 and b"--" in css.read()  # the stylesheet itself, from the wheel

        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login_page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "username": "member", "password": "Member2026"})
        home = opener.open(f"{base}/login", data=form.encode(), timeout=10)
        body = home.read().decode()
        assert home.url.rstrip("/") == base and "退出" in body, body[:2000]  # logged in, Chinese home page
        ready = json.loads(opener.open(f"{base}/readyz?only=database", timeout=10).read())
        assert ready["checks"] == {"database": "ok", "schema": "ok"} and ready["status"] == "ok", ready
    finally:
        server.terminate()
        server.wait(timeout=30)
