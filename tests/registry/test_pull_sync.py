"""Pull sync from a registry's own SCIM server (here scim2-server's in-memory server, speaking
our published schemas), reconciled through the roster import."""
import pytest
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.memory import InMemoryStorage
from sqlalchemy import func, select

from learning.orgs.models import Member, Organisation
from learning.registry import scim, sync
from learning.registry.models import SyncRun, SyncStatus
from learning.registry.services import create_connection


class RegistryStorage(InMemoryStorage):
    """The registry's identifiers are its member and organisation numbers."""

    def generate_id(self, resource_type, resource):
        return resource.external_id


class FakeRegistry:
    def __init__(self):
        self.provider = scim.build_provider()
        self.app = WSGIApplication(RegistryStorage(), self.provider)
        self.client = WSGISCIMClient(self.app, base_url="http://registry.example/v2", provider=self.provider)

    def group(self, number, name, kind, parent=None):
        model = self.provider.model_for("Group")
        group = model(external_id=number, display_name=name)
        group[scim.OrganisationExtension] = scim.OrganisationExtension(
            kind=kind, parent=f"http://registry.example/v2/Groups/{parent}" if parent else None)
        self.client.create(group)

    def user(self, number, name, org, status="full", active=True):
        model = self.provider.model_for("User")
        user = model(external_id=number, user_name=number, display_name=name, active=active)
        user[scim.MemberExtension] = scim.MemberExtension(organization=f"Groups/{org}", status=status)
        self.client.create(user)

    def factory(self, connection):
        return self.client


@pytest.fixture
def connection(db, tree):
    issued = create_connection("党员信息库")
    issued.connection.pull_url = "http://registry.example/scim/v2"
    issued.connection.pull_token = "registry-token"
    db.session.commit()
    return issued.connection


def registry_like_tree(registry, *, skip=()):
    """The test tree as the registry holds it."""
    for number, name, kind, parent in [
        ("C", "中共测试委员会", "committee", None), ("GB", "第一党总支", "general_branch", "C"),
        ("B1", "一支部", "branch", "GB"), ("G1", "一支部第一党小组", "group", "B1"), ("B2", "二支部", "branch", "GB"),
        ("B3", "三支部", "branch", "C"), ("OTHER", "另一委员会", "committee", None), ("BX", "外部支部", "branch", "OTHER"),
    ]:
        registry.group(number, name, kind, parent)
    for number, name, org, status in [
        ("M-B1-S", "李书记", "B1", "full"), ("M-B1-1", "王党员", "B1", "full"), ("M-G1-1", "赵小组", "G1", "probationary"),
        ("M-B2-1", "钱二支", "B2", "full"), ("M-B2-S", "孙书记", "B2", "full"), ("M-B3-1", "周三支", "B3", "activist"),
        ("M-BX-1", "吴外部", "BX", "full"), ("M-REV", "郑评议", "B3", "full"), ("M-ADM", "冯管理", "B3", "full"),
    ]:
        if number not in skip:
            registry.user(number, name, org, status)


def snapshot(db):
    return (db.session.scalar(select(func.count()).select_from(Member)),
            db.session.scalar(select(func.count()).select_from(Member).where(Member.active.is_(True))),
            db.session.scalar(select(func.count()).select_from(Organisation)))


def test_a_registry_in_step_changes_nothing(db, tree, connection):
    registry = FakeRegistry()
    registry_like_tree(registry)
    run = sync.pull(connection, apply=True, client_factory=registry.factory)
    assert run.status == SyncStatus.SUCCEEDED, run.error
    assert run.summary["organisations"]["unchanged"] == 8 and run.summary["members"]["unchanged"] == 9
    assert run.summary["members"]["created"] == run.summary["members"]["updated"] == run.summary["members"]["deactivated"] == 0


def test_dry_run_reports_the_diff_and_writes_nothing_then_apply_writes_it_once(db, tree, connection):
    registry = FakeRegistry()
    registry_like_tree(registry, skip={"M-B3-1", "M-B1-1"})
    registry.group("B9", "九支部", "branch", "GB")
    registry.user("M-B1-1", "王党员", "B9")  # transferred to the new branch
    registry.user("M-NEW", "陈新", "B9", "probationary")
    before = snapshot(db)

    run = sync.pull(connection, client_factory=registry.factory)
    assert run.status == SyncStatus.SUCCEEDED and run.dry_run
    members, organisations = run.summary["members"], run.summary["organisations"]
    assert organisations["created_ids"] == ["B9"]
    assert (members["created_ids"], members["updated_ids"], members["deactivated_ids"]) == (["M-NEW"], ["M-B1-1"], ["M-B3-1"])
    assert snapshot(db) == before

    applied = sync.pull(connection, apply=True, client_factory=registry.factory)
    assert applied.status == SyncStatus.SUCCEEDED and not applied.dry_run
    db.session.expire_all()
    moved = db.session.get(Member, tree["members"]["b1_member"])
    assert moved.organisation.external_id == "B9"
    assert not db.session.get(Member, tree["members"]["b3_member"]).active
    assert snapshot(db) == (before[0] + 1, before[1], before[2] + 1)

    again = sync.pull(connection, apply=True, client_factory=registry.factory)
    assert again.summary["members"]["created"] == again.summary["members"]["updated"] == 0
    assert again.summary["members"]["deactivated"] == 0 and again.summary["organisations"]["created"] == 0
    assert snapshot(db) == (before[0] + 1, before[1], before[2] + 1)


def test_an_empty_answer_does_not_end_everyones_membership(db, tree, connection):
    registry = FakeRegistry()
    registry_like_tree(registry, skip={"M-B1-S", "M-B1-1", "M-G1-1", "M-B2-1", "M-B2-S", "M-B3-1"})
    before = snapshot(db)
    run = sync.pull(connection, apply=True, client_factory=registry.factory)
    assert run.status == SyncStatus.FAILED and "这将停用 9 名在册党员中的 6 名" in run.error
    assert snapshot(db) == before
    forced = sync.pull(connection, apply=True, force=True, client_factory=registry.factory)
    assert forced.status == SyncStatus.SUCCEEDED
    assert snapshot(db)[1] == 3


def test_bad_registry_data_is_reported_row_by_row_and_nothing_applied(db, tree, connection):
    registry = FakeRegistry()
    registry_like_tree(registry)
    registry.user("M-LOST", "无组织", "NOWHERE")
    registry.user("M-ODD", "怪状态", "B1", status="hero")
    before = snapshot(db)
    run = sync.pull(connection, apply=True, client_factory=registry.factory)
    assert run.status == SyncStatus.FAILED and "2 problems" in run.error
    messages = " ".join(p["message"] for p in run.summary["members"]["problems"])
    assert "NOWHERE" in messages and "hero" in messages
    assert snapshot(db) == before


def test_an_unreachable_registry_is_a_failed_run_with_the_reason(db, tree, connection):
    connection.pull_url = "http://127.0.0.1:9/scim/v2"  # nothing listens on the discard port
    db.session.commit()
    run = sync.pull(connection, apply=True)
    assert run.status == SyncStatus.FAILED and run.finished_at is not None
    assert "RequestNetworkException" in run.error or "Connect" in run.error
    assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 1


def test_admin_sets_the_source_checks_then_syncs_and_reads_the_diff(app, client, db, tree, monkeypatch):
    from tests.conftest import csrf_token, login
    from tests.factories import PASSWORD

    issued = create_connection("市党员信息库")
    db.session.commit()
    registry = FakeRegistry()
    registry_like_tree(registry, skip={"M-B3-1"})
    registry.user("M-NEW", "陈新", "B1")
    monkeypatch.setattr(sync, "http_client", registry.factory)
    page = f"/admin/registry/{issued.connection.id}/sync"

    secretary = app.test_client()
    login(secretary, "secretary", PASSWORD)
    assert secretary.get(page).status_code in (403, 404)
    login(client, "root", PASSWORD)
    bad = client.post(page, data={"csrf_token": csrf_token(client, page), "action": "source", "url": "ftp://x", "token": "t"},
                      follow_redirects=True)
    assert "https://registry.example/scim/v2" in bad.get_data(as_text=True)  # the error names the expected form
    client.post(page, data={"csrf_token": csrf_token(client, page), "action": "source",
                            "url": "https://registry.example/scim/v2/", "token": "s3cret"})
    db.session.expire_all()
    assert issued.connection.pull_url == "https://registry.example/scim/v2"
    html = client.get(page).get_data(as_text=True)
    assert "s3cret" not in html

    checked = client.post(page, data={"csrf_token": csrf_token(client, page), "action": "check"}, follow_redirects=True)
    html = checked.get_data(as_text=True)
    assert "M-NEW" in html and "M-B3-1" in html and "检查" in html
    assert db.session.scalar(select(func.count()).select_from(Member).where(Member.external_id == "M-NEW")) == 0

    client.post(page, data={"csrf_token": csrf_token(client, page), "action": "apply"})
    assert db.session.scalar(select(func.count()).select_from(Member).where(Member.external_id == "M-NEW")) == 1
    listing = client.get("/admin/registry/").get_data(as_text=True)
    assert "成功" in listing


def test_cli_configures_and_pulls(runner, db, tree, monkeypatch):
    create_connection("信息库")
    db.session.commit()
    refused = runner.invoke(args=["registry", "pull", "信息库"])
    assert refused.exit_code != 0 and "no SCIM address" in refused.output
    configured = runner.invoke(args=["registry", "pull-from", "信息库", "https://registry.example/scim/v2", "--token", "t0k"])
    assert configured.exit_code == 0, configured.output
    registry = FakeRegistry()
    registry_like_tree(registry)
    registry.user("M-NEW", "陈新", "B1")
    monkeypatch.setattr(sync, "http_client", registry.factory)
    dry = runner.invoke(args=["registry", "pull", "信息库"])
    assert dry.exit_code == 0, dry.output
    assert "members: 1 created, 0 updated, 0 deactivated, 9 unchanged, 0 problems" in dry.output
    assert "Dry run" in dry.output
    assert db.session.scalar(select(func.count()).select_from(Member).where(Member.external_id == "M-NEW")) == 0
    applied = runner.invoke(args=["registry", "pull", "信息库", "--apply"])
    assert applied.exit_code == 0 and "Applied." in applied.output
    assert db.session.scalar(select(func.count()).select_from(Member).where(Member.external_id == "M-NEW")) == 1
