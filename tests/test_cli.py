"""The `learning` command: demo data and scripted account creation."""
import os
import subprocess
import sys

from sqlalchemy import func, select

from learning.accounts.models import Account, Role
from learning.orgs.models import Member, Organisation
from learning.orgs.scoping import Permission, Scope
from learning.points.models import LedgerEntry
from learning.points.services import verify_totals


def _counts(db):
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) for model in (Organisation, Member, Account)
    )


def test_demo_loads_a_believable_park_once(runner, db):
    """One load (it takes seconds): contents, idempotency, --first-start, and the secretary's scope."""
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    orgs, members, accounts = _counts(db)
    assert orgs >= 15 and 300 <= members <= 400 and accounts == 6
    branches = db.session.scalar(select(func.count()).select_from(Organisation).where(Organisation.kind == "branch"))
    assert 10 <= branches <= 12
    for username in ("member", "secretary", "reviewer", "orgadmin", "admin"):
        assert username in first.output
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    assert entries > 1000  # a month of activity, so rankings have something to show
    assert verify_totals() == []
    from learning.evaluation.models import BallotWindow, Inspection, MonthlyReport

    def evaluation():
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (MonthlyReport, Inspection, BallotWindow))

    assert evaluation() == (1, 3, 1)  # secretary2's branch reported last month; three inspected; the ballot open

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and _counts(db) == (orgs, members, accounts)
    assert "0 organisations, 0 members, 0 accounts created" in again.output
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
    assert evaluation() == (1, 3, 1)

    first_start = runner.invoke(args=["demo", "--first-start"])
    assert first_start.exit_code == 0 and "not loaded again" in first_start.output
    assert "secretary" in first_start.output  # the logins are still printed

    secretary = db.session.scalar(select(Account).where(Account.username == "secretary"))
    visible = db.session.scalars(Scope(secretary).members(Permission.VIEW_MEMBERS)).unique().all()
    assert visible and {m.organisation.external_id for m in visible} <= {"XH-B-XHY", "XH-G-XHY1", "XH-G-XHY2"}


def test_accounts_create_with_a_role_on_an_organisation(runner, db, tree):
    result = runner.invoke(
        args=["accounts", "create", "newsec", "--password", "Passw0rd-x", "--role", "branch_secretary",
              "--org", "B2", "--member", "M-B2-1"]
    )
    assert result.exit_code == 0, result.output
    account = db.session.scalar(select(Account).where(Account.username == "newsec"))
    assert {(g.role, g.organisation_id) for g in account.grants} == {
        (Role.MEMBER, None), (Role.BRANCH_SECRETARY, tree["orgs"]["B2"])
    }


def test_accounts_create_refuses_bad_input_and_writes_nothing(runner, db, tree):
    before = _counts(db)
    cases = [
        (["accounts", "create", "x1", "--password", "Passw0rd-x", "--role", "org_admin"], "needs --org"),
        (["accounts", "create", "x2", "--password", "Passw0rd-x", "--role", "reviewer", "--org", "NOPE"], "NOPE"),
        (["accounts", "create", "x3", "--password", "Passw0rd-x", "--member", "NOPE"], "NOPE"),
        (["accounts", "create", "x4", "--password", "short", "--member", "M-B3-1"], "密码至少需要 8 个字符"),
        (["accounts", "create", "member", "--password", "Passw0rd-x", "--member", "M-B3-1"], "member"),
        (["accounts", "create", "x5", "--password", "Passw0rd-x", "--role", "king"], "king"),
    ]
    for args, expected in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert expected in result.output, (args, result.output)
    assert _counts(db) == before


def test_superadmin_without_a_member(runner, db, tree):
    result = runner.invoke(args=["accounts", "create", "ops", "--password", "Passw0rd-x", "--role", "superadmin"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Account).where(Account.username == "ops")).is_superadmin


def test_the_console_script_is_flask_cli(tmp_path):
    """`learning` offers Flask's own commands (db, routes, shell ...) besides ours."""
    env = dict(os.environ, LEARNING_INSTANCE_PATH=str(tmp_path), LEARNING_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}")
    exe = os.path.join(os.path.dirname(sys.executable), "learning")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0
    for command in ("db", "routes", "run", "shell", "demo", "accounts"):
        assert command in out.stdout
