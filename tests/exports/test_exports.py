"""Background exports: a large subtree's file is asked for, made by the scheduler's side with its
progress written as it goes, and handed only to whoever asked, while they may still see it."""
import io
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from learning.accounts.models import Account
from learning.audit.models import AuditEntry
from learning.exports import services
from learning.exports.models import ExportJob, ExportStatus
from learning.orgs.models import Member, Organisation
from learning.orgs.queries import active_member_count
from learning.orgs.scoping import Permission
from learning.points.exports import rankings_xlsx
from learning.spreadsheet import LargeWorkbook
from tests.conftest import csrf_token, login
from tests.factories import PASSWORD, give_points

NOW = datetime(2026, 11, 20, 2, tzinfo=timezone.utc)


@pytest.fixture
def large(app, db, tree, rules, time_machine, monkeypatch):
    """Every subtree of more than three members counts as large; the committee has points."""
    time_machine.move_to(NOW)
    monkeypatch.setitem(app.config, "EXPORT_DIRECT_MAX_MEMBERS", 3)
    admin = db.session.get(Account, tree["accounts"]["superadmin"])
    for n, member in enumerate(db.session.scalars(sa.select(Member).order_by(Member.id))):
        give_points(member, 3 + n, admin, occurred_at=NOW)
    db.session.commit()
    return db.session.get(Organisation, tree["orgs"]["C"])


def _ask(client, org, kind="rankings", period="2026Q4"):
    path = f"/admin/exports/new?kind={kind}&org={org.id}&period={period}"
    return client.post(path, data={"csrf_token": csrf_token(client, path)})


def _sheet(data: bytes, name: str, header_row: int = 4) -> list[tuple]:
    return list(load_workbook(io.BytesIO(data), read_only=True)[name].iter_rows(min_row=header_row, values_only=True))


def test_a_large_file_is_asked_for_made_in_the_background_and_downloaded(client, db, large):
    login(client, "reviewer", PASSWORD)
    offered = client.get(f"/admin/points/export?org={large.id}&period=2026Q4&format=xlsx")
    assert offered.status_code == 302 and "/admin/exports/new?kind=rankings" in offered.headers["Location"]
    members = active_member_count(large)
    offer = client.get(offered.headers["Location"]).get_data(as_text=True)
    assert f"有 {members} 名党员" in offer and "在后台生成" in offer

    asked = _ask(client, large)
    assert asked.status_code == 302
    job = db.session.scalar(sa.select(ExportJob))
    assert asked.headers["Location"].endswith(f"/admin/exports/{job.id}")
    assert (job.status, job.kind, job.period_key, job.rows_total) == (ExportStatus.REQUESTED, "rankings", "2026Q4", members)
    again = _ask(client, large)  # the same file asked twice while it waits: one export
    assert again.headers["Location"] == asked.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportJob)) == 1
    waiting = client.get(f"/admin/exports/{job.id}/status").get_json()
    assert (waiting["status"], waiting["percent"], waiting["file"]) == ("requested", 0, None)

    assert services.run_requested() == 1
    db.session.expire_all()
    job = db.session.get(ExportJob, job.id)
    assert job.status is ExportStatus.READY and job.filename == f"rankings-{large.external_id or large.id}-2026Q4.xlsx"
    ready = client.get(f"/admin/exports/{job.id}/status").get_json()
    assert (ready["status"], ready["percent"], ready["file"]) == ("ready", 100, f"/admin/exports/{job.id}/file")
    page = client.get(f"/admin/exports/{job.id}").get_data(as_text=True)
    assert "文件已生成" in page and f'href="/admin/exports/{job.id}/file"' in page

    got = client.get(f"/admin/exports/{job.id}/file")
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    assert got.headers["Content-Disposition"] == f"attachment; filename={job.filename}"
    with db.session.no_autoflush:
        direct = rankings_xlsx(large, "2026Q4").bytes()
    for sheet in ("党员", "党支部", "加分与扣分"):  # the same rows as the file made while a request waits
        assert _sheet(got.data, sheet)[1:] == _sheet(direct, sheet)[1:]
    from learning.points.appraisal_pages import figures

    assert len(_sheet(got.data, "党员")) == 1 + figures(large, "2026Q4").appraised.total > 5
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "data.exported")).all()
    assert [(a.target, a.detail) for a in audit] == [("rankings:2026Q4", {"format": "xlsx", "export": job.id})]
    listed = client.get("/admin/exports/").get_data(as_text=True)
    assert "排名与评议" in listed and "中共测试委员会" in listed


def test_nobody_else_sees_or_downloads_the_file(app, client, db, large, tree):
    login(client, "reviewer", PASSWORD)
    _ask(client, large)
    services.run_requested()
    job = db.session.scalar(sa.select(ExportJob))
    other = app.test_client()
    login(other, "orgadmin", PASSWORD)
    for path in (f"/admin/exports/{job.id}", f"/admin/exports/{job.id}/status", f"/admin/exports/{job.id}/file"):
        assert other.get(path).status_code == 404
    assert "您还没有生成过大文件" in other.get("/admin/exports/").get_data(as_text=True)


def test_a_file_is_no_longer_handed_over_once_its_organisation_is_out_of_scope(client, db, large, monkeypatch):
    login(client, "reviewer", PASSWORD)
    _ask(client, large)
    services.run_requested()
    job = db.session.scalar(sa.select(ExportJob))
    assert client.get(f"/admin/exports/{job.id}/file").status_code == 200
    from learning.orgs.scoping import Scope

    monkeypatch.setattr(Scope, "can_org", lambda self, permission, org: False)
    assert client.get(f"/admin/exports/{job.id}/file").status_code == 404


@pytest.mark.parametrize("query", ["kind=nothing&org={org}&period=2026Q4", "kind=rankings&org={org}&period=2026Q9",
                                   "kind=study-hours&org={org}&period=2026-11", "kind=rankings&org=99999999999&period=2026Q4",
                                   "kind=rankings&org={outside}&period=2026Q4", "kind=rankings&period=2026Q4"])
def test_a_forged_request_changes_nothing(client, db, large, tree, query):
    login(client, "secretary", PASSWORD)  # B1's secretary: not the committee, not another branch
    path = "/admin/exports/new?" + query.format(org=tree["orgs"]["B1"], outside=tree["orgs"]["B2"])
    token = csrf_token(client, f"/admin/exports/new?kind=rankings&org={tree['orgs']['B1']}&period=2026Q4")
    assert client.post(path, data={"csrf_token": token}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportJob)) == 0


def test_without_the_form_token_nothing_is_asked_for(client, db, large):
    login(client, "reviewer", PASSWORD)
    assert client.post(f"/admin/exports/new?kind=rankings&org={large.id}&period=2026Q4").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportJob)) == 0


def test_the_study_hours_file_of_a_large_subtree_is_made_in_the_background(client, db, large, tree):
    general = db.session.get(Organisation, tree["orgs"]["GB"])  # the organisation administrator's
    login(client, "orgadmin", PASSWORD)
    offered = client.get(f"/admin/study.xlsx?org={general.id}&period=2026Q4")
    assert "/admin/exports/new?kind=study-hours" in offered.headers["Location"]
    _ask(client, general, kind="study-hours")
    services.run_requested()
    job = db.session.scalar(sa.select(ExportJob))
    rows = _sheet(client.get(f"/admin/exports/{job.id}/file").data, "学时", header_row=2)
    assert rows[0][:2] == ("党员编号", "姓名") and rows[-1][0] == "合计"
    assert rows[-1][1] == f"{active_member_count(general)} 人" == f"{len(rows) - 3} 人"  # header, blank, total


@pytest.fixture
def register_kind(app, monkeypatch):
    """Register a kind of file for one test (progress written at every call)."""
    monkeypatch.setitem(app.config, "EXPORT_PROGRESS_SECONDS", 0)

    def register(name, build):
        monkeypatch.setitem(services.KINDS, name, services.Kind(
            name, "测试文件", Permission.VIEW_SCORES, lambda key: key, build, lambda org, key: f"{name}.xlsx"))

    return register


def test_progress_is_written_while_the_file_is_made(db, large, tree, register_kind):
    """Another connection reads the rows written so far while the build is still running."""
    seen = []

    def build(org, key, progress):
        with LargeWorkbook(progress) as book:
            sheet = book.sheet("行")
            for n in range(2 * LargeWorkbook.PROGRESS_ROWS):
                sheet.append([n])
            with db.engine.connect() as other:  # what the progress page would read now
                seen.append(other.execute(sa.select(ExportJob.rows_done, ExportJob.status)).one())
        return book

    register_kind("slow", build)
    account = db.session.get(Account, tree["accounts"]["reviewer"])
    job, created = services.request_export("slow", large, "2026Q4", account)
    db.session.commit()
    assert created and services.run_requested() == 1
    assert seen == [(2000, "running")]
    db.session.expire_all()
    assert (job.status, job.rows_done, job.percent) == (ExportStatus.READY, 2000, 100)


def test_a_failed_build_says_so_and_keeps_nothing(db, large, tree, register_kind, caplog):
    def build(org, key, progress):
        raise RuntimeError("disk full at /secret/path")

    register_kind("broken", build)
    account = db.session.get(Account, tree["accounts"]["reviewer"])
    job, _ = services.request_export("broken", large, "2026Q4", account)
    db.session.commit()
    services.run_requested()
    db.session.expire_all()
    assert job.status is ExportStatus.FAILED and job.content is None
    assert job.error == "文件未能生成，请重试。" and "/secret/path" not in job.error
    assert "disk full" in caplog.text  # the operator's log has the reason


def test_the_same_request_twice_at_once_is_one_export(db, large, tree, monkeypatch):
    """Both requests pass the look for a waiting export before either is written: the unique index
    on the waiting and running exports keeps one, and the second request is given it."""
    account = db.session.get(Account, tree["accounts"]["reviewer"])
    first, created = services.request_export("rankings", large, "2026Q4", account)
    db.session.commit()
    looked, calls = services._active, []

    def first_look_misses(*args):  # the other worker looked before this one's commit
        calls.append(args)
        return None if len(calls) == 1 else looked(*args)

    monkeypatch.setattr(services, "_active", first_look_misses)
    second, again = services.request_export("rankings", large, "2026Q4", account)
    monkeypatch.setattr(services, "_active", looked)
    assert len(calls) == 2  # looked, tried to write, looked again
    db.session.commit()
    assert created and not again and second.id == first.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportJob)) == 1
    services.build(services._claim_next())  # once made, the same file may be asked for again
    newer, created = services.request_export("rankings", large, "2026Q4", account)
    assert created and newer.id != first.id


def test_two_schedulers_never_make_the_same_file(db, large, tree):
    account = db.session.get(Account, tree["accounts"]["reviewer"])
    job, _ = services.request_export("rankings", large, "2026Q4", account)
    db.session.commit()
    assert services._claim_next() == job.id
    assert services._claim_next() is None  # already running: not claimed again


def test_a_build_whose_process_died_is_failed_and_old_files_are_deleted(db, large, tree, time_machine, app):
    account = db.session.get(Account, tree["accounts"]["reviewer"])
    dead, _ = services.request_export("rankings", large, "2026Q4", account)
    db.session.commit()
    services._claim_next()
    kept, _ = services.request_export("rankings", large, "2026Q3", account)
    db.session.commit()
    services.build(services._claim_next())
    time_machine.move_to(NOW + timedelta(seconds=app.config["EXPORT_STALE_SECONDS"] + 1))
    assert services.tidy() == {"stale": 1, "purged": 0}
    db.session.expire_all()
    assert dead.status is ExportStatus.FAILED and "请重新生成" in dead.error
    assert kept.status is ExportStatus.READY
    time_machine.move_to(NOW + timedelta(hours=app.config["EXPORT_KEEP_HOURS"], seconds=1))
    assert services.tidy() == {"stale": 0, "purged": 1}  # the ready file; the failed one is younger
    db.session.expire_all()
    assert db.session.scalars(sa.select(ExportJob.id)).all() == [dead.id]


def test_a_registry_identifier_cannot_break_the_download_header(client, db, large):
    large.external_id = 'C"1\\;x=\u515a'  # arrives from the registry; the file is named after it
    db.session.commit()
    login(client, "reviewer", PASSWORD)
    _ask(client, large)
    services.run_requested()
    job = db.session.scalar(sa.select(ExportJob))
    got = client.get(f"/admin/exports/{job.id}/file")
    assert got.status_code == 200 and got.data[:2] == b"PK"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and "filename*=UTF-8''rankings-C%221%5C%3Bx%3D%E5%85%9A" in disposition


def test_a_small_subtree_still_downloads_at_once(app, client, db, large, tree, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_DIRECT_MAX_MEMBERS", 20000)
    login(client, "reviewer", PASSWORD)
    got = client.get(f"/admin/points/export?org={large.id}&period=2026Q4&format=xlsx")
    assert got.status_code == 200 and got.data[:2] == b"PK"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportJob)) == 0
