"""The demo park's appraisal year so far: last month's report submitted by one branch (the other demo
secretary's is still to write: their home asks for it), last quarter inspected for three branches, and this
year's 民主评议 open for the park.  Only on an empty evaluation, so a second run adds nothing."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, select

from learning.accounts.models import Account, Role, RoleGrant
from learning.db import utcnow
from learning.evaluation import ballots, inspections, reports
from learning.evaluation.models import BallotWindow, Inspection, MonthlyReport
from learning.extensions import db
from learning.orgs.models import Organisation, OrgKind
from learning.points import periods

ACCOUNT = ("本月召开支部委员会和主题党日，组织党员到社区开展志愿服务；"
           "两名党员学时落后，已个别提醒。下月重点：党课和“三会一课”台账整理。")


def _account_with(role: Role, org: Organisation | None = None) -> Account | None:
    query = select(Account).join(RoleGrant, RoleGrant.account_id == Account.id).where(RoleGrant.role == role)
    if org is not None:
        query = query.where(RoleGrant.organisation_id == org.id)
    return db.session.scalar(query.order_by(Account.id).limit(1))


def load(today=None) -> int:
    if any(db.session.scalar(select(func.count()).select_from(model)) for model in (MonthlyReport, Inspection, BallotWindow)):
        return 0
    today = today or periods.local_today()
    root = db.session.scalar(select(Organisation).where(Organisation.parent_id.is_(None)).order_by(Organisation.id))
    committee = _account_with(Role.ORG_ADMIN, root)
    if root is None or committee is None:
        return 0
    branches = db.session.scalars(select(Organisation).where(Organisation.kind == OrgKind.BRANCH,
                                                             Organisation.active.is_(True)).order_by(Organisation.path)).all()
    secretaries = [(b, a) for b in branches if (a := _account_with(Role.BRANCH_SECRETARY, b)) is not None]
    made = 0
    month = reports.last_month(today)
    for branch, secretary in secretaries[1:]:  # the first demo secretary's report is still to write
        submitted = datetime.combine(periods.parse(month).ends_on + timedelta(days=2), time(17),
                                     tzinfo=periods.zone()).astimezone(timezone.utc)
        reports.save(secretary, branch, month, ACCOUNT, submit=True, now=min(submitted, utcnow()))
        made += 1
    quarter_start = periods.parse(periods.quarter_key(today)).starts_on
    last_quarter = periods.quarter_key(quarter_start - timedelta(days=1))
    if not inspections.frozen(last_quarter):
        for n, branch in enumerate(branches[:3]):
            inspection = inspections.start(committee, branch, last_quarter, today)
            inspections.save(committee, inspection, {"ledger_quality": (str(9 - n), "台账齐全，记录及时。"),
                                                     "branch_features": (str(8 - n), "志愿服务形成品牌。")}, publish=True)
            made += 1
    now = utcnow()
    ballots.open_window(committee, root, today.year, now - timedelta(days=1), now + timedelta(days=14))
    return made + 1
