"""Bad input gets a clear 4xx and writes nothing; exports cannot carry formulas; security headers.

Run on both databases: PostgreSQL's integers are 32-bit and its text cannot hold NUL, which SQLite
never shows.
"""
import csv
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from learning.orgs.models import Member, Organisation
from learning.orgs.services import create_member
from learning.points import services as points
from learning.points.models import Dispute
from tests.api.test_api import auth, token_for
from tests.conftest import csrf_token, login
from tests.courses.conftest import courses  # noqa: F401  (the shipped courses)
from tests.factories import PASSWORD

BIG = 2**31  # one past PostgreSQL's integer


# -- integers out of range ---------------------------------------------------------------------
@pytest.mark.parametrize("path", [f"/api/v1/orgs/{BIG}", "/api/v1/orgs/8885598875222", f"/api/v1/members/{BIG}",
                                  f"/api/v1/courses/{BIG}", f"/api/v1/challenges/{BIG}"])
def test_an_api_id_past_32_bits_is_a_404_problem(client, tree, path):
    response = client.get(path, headers=auth(token_for(client, "root")))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


@pytest.mark.parametrize("query", ["org=-6683970519", f"org={BIG}", "page=" + "9" * 25, "per_page=1000"])
def test_an_api_query_past_its_bounds_is_a_422_with_the_field(client, tree, query):
    response = client.get(f"/api/v1/members?{query}", headers=auth(token_for(client, "root")))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert query.split("=")[0] in response.get_json()["errors"]


def test_admin_pages_answer_404_for_ids_past_32_bits_and_ignore_silly_pages(client, tree):
    login(client, "root", PASSWORD)
    for path in (f"/admin/members/{BIG}", f"/admin/points/rankings?org={BIG}", f"/admin/members?org={BIG}",
                 f"/admin/study?org={BIG}", "/admin/points/rankings?org=-3", f"/admin/orgs/{BIG}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "页面不存在" in response.get_data(as_text=True)
    assert client.get("/admin/members?page=" + "9" * 25).status_code == 200


def test_a_heartbeat_with_a_sequence_past_32_bits_is_refused(client, db, tree, rules, courses):
    from learning.courses.models import Lesson

    lesson = db.session.scalar(sa.select(Lesson).order_by(Lesson.id))
    headers = auth(token_for(client, "member"))
    session = client.post(f"/api/v1/lessons/{lesson.id}/sessions", headers=headers).get_json()
    response = client.post(f"/api/v1/study-sessions/{session['token']}/heartbeats", headers=headers,
                           json={"seq": BIG, "visible": True})
    assert response.status_code == 422 and "seq" in response.get_json()["errors"]
    answer = client.put(f"/api/v1/attempts/x/items/{BIG}", headers=headers, json={"choices": ["a"]})
    assert answer.status_code == 404 and answer.mimetype == "application/problem+json"


# -- NUL and control characters -------------------------------------------------------------------
def test_nul_and_control_characters_are_refused_before_any_query(client, db, tree, rules):
    headers = auth(token_for(client, "member"))
    search = client.get("/api/v1/courses?q=%08%00", headers=headers)
    assert search.status_code == 400 and search.mimetype == "application/problem+json"
    assert "q" in search.get_json()["detail"]
    assert client.get("/api/v1/attempts/%00", headers=headers).status_code == 404
    token = client.post("/api/v1/auth/token", json={"username": "member\u0000", "password": PASSWORD})
    assert token.status_code == 400 and "body.username" in token.get_json()["detail"]
    login(client, "member", PASSWORD)
    assert client.get("/courses/certificates/%00").status_code == 404
    page = client.get("/admin/members?q=%00")
    assert page.status_code in (400, 403)

    # A dispute reason with control characters: refused, nothing stored (page and API).
    entry = points.award("meeting_attended", member=db.session.get(Member, tree["members"]["b1_member"]),
                         source_key="m").entry
    db.session.commit()
    refused = client.post(f"/points/entries/{entry.id}/dispute",
                          data={"csrf_token": csrf_token(client, "/points"), "reason": "分数\x07不对\x1b[31m"})
    assert refused.status_code == 400 and "字段 reason 含有不允许的字符" in refused.get_data(as_text=True)
    api = client.post(f"/api/v1/ledger/{entry.id}/disputes", headers=headers, json={"reason": "分数不对\u0000"})
    assert api.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 0


# -- formula injection ------------------------------------------------------------------------------
EVIL = ['=HYPERLINK("http://evil.example/","点我")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0"]


def test_exports_neutralise_formulas(client, db, tree, rules):
    branch = db.session.get(Organisation, tree["orgs"]["B1"])
    for i, name in enumerate(EVIL):
        member = create_member(name, branch, external_id=f"=EVIL{i}")
        points.award("meeting_attended", member=member, source_key=f"evil:{i}")
    db.session.commit()
    login(client, "orgadmin", PASSWORD)
    org = tree["orgs"]["GB"]

    rows = list(csv.reader(io.StringIO(client.get(f"/admin/points/export?org={org}&period=all&format=csv")
                                       .data.decode("utf-8-sig"))))
    names = [row[1] for row in rows[2:]]
    assert {f"'{name}" for name in EVIL} <= set(names)
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)

    book = load_workbook(io.BytesIO(client.get(f"/admin/points/export?org={org}&period=all&format=xlsx").data))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not any(c.data_type == "f" for c in cells)
    assert {f"'{name}" for name in EVIL} <= {c.value for c in cells}

    study = load_workbook(io.BytesIO(client.get(f"/admin/study.xlsx?org={org}").data))
    values = [c for row in study.active.iter_rows() for c in row if c.value is not None]
    assert not any(c.data_type == "f" for c in values)
    assert "'=EVIL0" in {c.value for c in values} and f"'{EVIL[0]}" in {c.value for c in values}


# -- security headers, no inline script -----------------------------------------------------------
def test_every_page_carries_the_security_headers_and_no_inline_script(client, tree, rules):
    login(client, "secretary", PASSWORD)
    for path in ("/", "/points", "/admin/members", "/account", "/courses/", "/quizzes/"):
        response = client.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in response.headers  # plain http in the tests
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # every script is a file
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handler
    static = client.get("/static/js/app.js")
    assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_language_changes_only_by_post_with_the_form_token(client, tree):
    login(client, "member", PASSWORD)
    assert client.get("/lang/en").status_code == 405
    assert client.post("/lang/en").status_code == 400  # no CSRF token
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/account")})
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


# -- uploads: content, not the name -------------------------------------------------------------------
def test_a_roster_xlsx_that_is_not_a_workbook_is_a_clear_error(runner, client, db, tree, tmp_path):
    fake = tmp_path / "roster.xlsx"
    fake.write_bytes(b"<html>not a workbook</html>")
    result = runner.invoke(args=["registry", "import", str(fake)])
    assert result.exit_code == 1 and "not an Excel workbook" in result.output
    login(client, "root", PASSWORD)
    response = client.post("/admin/registry/roster", data={
        "csrf_token": csrf_token(client, "/admin/registry/roster"),
        "file": (io.BytesIO(b"PK-not-really"), "roster.xlsx")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert response.status_code == 200 and "not an Excel workbook" in response.get_data(as_text=True)


def test_an_html_file_named_mp3_is_not_stored_as_audio(client, db, tree, app, tmp_path):
    from learning.courses.models import Course, Lesson
    from tests.courses.test_admin import wav_bytes

    app.config["MEDIA_DIR"] = str(tmp_path / "media")
    login(client, "root", PASSWORD)
    token = csrf_token(client, "/admin/courses/new")
    client.post("/admin/courses/new", data={"csrf_token": token, "title": "上传检查", "credit_hours": "1",
                                            "credit_kind": "elective"})
    course = db.session.scalar(sa.select(Course))
    url = f"/admin/courses/{course.id}/lessons/new"
    token = csrf_token(client, url)
    for body, name in ((b"<html><script>alert(1)</script></html>", "talk.mp3"), (wav_bytes(), "talk.mp3"),
                       (b"<html></html>", "clip.mp4")):
        refused = client.post(url, data={"csrf_token": token, "title": "录音", "kind": "audio",
                                         "media": (io.BytesIO(body), name)}, content_type="multipart/form-data")
        assert "不是" in refused.get_data(as_text=True) and name.rsplit(".")[1].upper() in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lesson)) == 0
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").iterdir())


# -- the roster import guard ---------------------------------------------------------------------------
def test_a_roster_that_would_deactivate_most_members_needs_forcing(runner, client, db, tree, tmp_path):
    branch = db.session.get(Organisation, tree["orgs"]["B1"])
    for i in range(30):
        create_member(f"党员{i}", branch, external_id=f"R-{i}")
    db.session.commit()
    active = db.session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.active.is_(True)))
    two_rows = tmp_path / "members.csv"
    two_rows.write_text("党员编号,姓名,所在党组织编号,人员类别\nR-0,党员0,B1,正式党员\nR-1,党员1,B1,正式党员\n",
                        encoding="utf-8")
    refused = runner.invoke(args=["registry", "import", str(two_rows), "--apply"])
    assert refused.exit_code == 1 and f"这将停用 {active} 名在册党员中的 {active - 2} 名" in refused.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.active.is_(True))) == active

    login(client, "root", PASSWORD)
    token = csrf_token(client, "/admin/registry/roster")
    checked = client.post("/admin/registry/roster", data={"csrf_token": token, "file": (io.BytesIO(
        two_rows.read_bytes()), "members.csv")}, content_type="multipart/form-data").get_data(as_text=True)
    assert 'id="too-many-leavers"' in checked and 'name="force"' in checked
    upload = checked.split('name="upload" value="')[1].split('"')[0]
    again = client.post("/admin/registry/roster", data={"csrf_token": token, "upload": upload}).get_data(as_text=True)
    assert 'id="too-many-leavers"' in again  # not applied without the box ticked
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.active.is_(True))) == active
    client.post("/admin/registry/roster", data={"csrf_token": token, "upload": upload, "force": "1"})
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Member).where(Member.active.is_(True))) == 2


# -- failed logins: per address and account, and per account -------------------------------------------
def _token_from(client, address, username, password):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_other_peoples_failures_behind_one_nat_do_not_lock_out_a_correct_password(client, tree):
    for _ in range(8):
        _token_from(client, "10.9.0.1", "member", "wrong-password1")
    assert _token_from(client, "10.9.0.1", "member", PASSWORD).status_code == 429  # that account from there
    assert _token_from(client, "10.9.0.1", "secretary", PASSWORD).status_code == 201  # a colleague behind the NAT


def test_guessing_one_account_from_many_addresses_is_stopped(client, tree):
    answers = [_token_from(client, f"10.8.0.{i // 5}", "member", f"wrong-{i}").status_code for i in range(50)]
    assert answers.count(401) == 20 and answers[20:] == [429] * 30  # the account's 20 an hour
    refused = _token_from(client, "10.8.9.9", "member", PASSWORD)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 3000 < wait <= 3600  # the hour's window, not a made-up figure


def test_retry_after_is_the_real_wait(app, client, tree, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "5 per minute;30 per hour")  # the production default
    for _ in range(5):
        _token_from(client, "10.7.0.1", "member", "wrong-password1")
    paused = _token_from(client, "10.7.0.1", "member", "wrong-password1")
    assert paused.status_code == 429
    assert 1 <= int(paused.headers["Retry-After"]) <= 60  # the minute's limit ran out, not the hour's


# -- database faults -------------------------------------------------------------------------------------
def test_readyz_is_503_json_on_an_unmigrated_or_unreachable_database(tmp_path):
    from flask_migrate import downgrade, upgrade

    from learning import create_app

    empty = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}", "INSTANCE_PATH": str(tmp_path),
                        "SECRET_KEY": "x"})
    response = empty.test_client().get("/readyz?only=database")
    assert response.status_code == 503 and response.mimetype == "application/json"
    assert response.get_json()["checks"]["schema"].startswith("not migrated")
    with empty.app_context():
        upgrade()
        downgrade(revision="-1")
    behind = empty.test_client().get("/readyz?only=database").get_json()
    assert behind["status"] == "unavailable" and "the code needs" in behind["checks"]["schema"]
    with empty.app_context():
        upgrade()
    assert empty.test_client().get("/readyz?only=database").status_code == 200

    gone = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://postgres@127.0.0.1:1/none", "INSTANCE_PATH": str(tmp_path),
                       "SECRET_KEY": "x", "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
                       "WTF_CSRF_ENABLED": False})
    down = gone.test_client().get("/readyz")
    assert down.status_code == 503 and down.get_json() == {"status": "unavailable", "checks": {"database": "unreachable"}}
    page = gone.test_client().post("/login", data={"username": "member", "password": PASSWORD})
    assert page.status_code == 503 and "数据库繁忙或无法连接" in page.get_data(as_text=True)
    api = gone.test_client().post("/api/v1/auth/token", json={"username": "member", "password": PASSWORD})
    assert api.status_code == 503 and api.mimetype == "application/problem+json" and api.headers["Retry-After"] == "5"


def test_a_page_blocked_by_a_lock_answers_503_in_seconds(database_url, tree, tmp_path):
    """PostgreSQL's lock_timeout (SQLite has none: its writers wait for busy_timeout)."""
    import time

    from tests.conftest import DB_KIND

    if DB_KIND != "postgresql":
        pytest.skip("lock and statement timeouts are PostgreSQL's")
    from learning import create_app
    from learning.extensions import db as _db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x",
                      "TESTING": True, "DB_LOCK_TIMEOUT_MS": 500, "DB_STATEMENT_TIMEOUT_MS": 2000,
                      "SESSION_COOKIE_SECURE": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "RATELIMIT_STORAGE_URI": "memory://"})
    client = app.test_client()
    with app.app_context():
        blocker = _db.engine.connect()
        transaction = blocker.begin()
        # Someone holds the member's account row (logging in writes it).
        blocker.execute(sa.text("SELECT id FROM account WHERE username = 'member' FOR UPDATE"))
        try:
            started = time.monotonic()
            response = client.post("/api/v1/auth/token", json={"username": "member", "password": PASSWORD})
            waited = time.monotonic() - started
        finally:
            transaction.rollback()
            blocker.close()
        _db.engine.dispose()
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5" and waited < 5
