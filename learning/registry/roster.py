"""Roster import: CSV or XLSX exports of the registry with Chinese column headers.

Two kinds of file, told apart by their headers:

    organisations: 组织编号, 组织名称, 组织类别, 上级组织编号[, 联合党支部]
    members:       党员编号, 姓名, 所在党组织编号, 人员类别[, 入党日期]

A dry run reports, row by row, what would be created, updated and deactivated and what is
wrong; applying does the same in one transaction, and refuses a file with errors.  Running a
file twice changes nothing the second time.  Members are diffed in memory against one query
of the current roster and written in bulk, so a city's 220,000 members take minutes.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, insert, select, update

from learning.db import utcnow
from learning.extensions import db
from learning.orgs import services as orgs
from learning.orgs.models import Member, MemberStatus, Organisation, OrgKind

ORG_COLUMNS = {"组织编号": "external_id", "组织名称": "name", "组织类别": "kind", "上级组织编号": "parent", "联合党支部": "joint"}
MEMBER_COLUMNS = {"党员编号": "external_id", "姓名": "name", "所在党组织编号": "organisation", "人员类别": "status",
                  "入党日期": "joined_on"}
ORG_KINDS = {"党委": OrgKind.COMMITTEE, "党总支": OrgKind.GENERAL_BRANCH, "党支部": OrgKind.BRANCH, "党小组": OrgKind.GROUP}
STATUSES = {"正式党员": MemberStatus.FULL, "预备党员": MemberStatus.PROBATIONARY,
            "入党积极分子": MemberStatus.ACTIVIST, "发展对象": MemberStatus.CANDIDATE}
YES = {"是", "1", "true", "True", "Y", "y"}


class RosterError(ValueError):
    pass


@dataclass
class RowProblem:
    row: int
    message: str


@dataclass
class Report:
    kind: str  # organisations | members
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    applied: bool = False
    # Set when the file would deactivate too many members to apply without being forced.
    too_many_leavers: str | None = None


# A roster or a pull that would deactivate more than a tenth of the active members (and more than
# a handful) is refused unless forced: an empty, truncated or wrong file must not empty the tree.
SAFE_DEACTIVATION_SHARE = 0.10
SAFE_DEACTIVATION_FLOOR = 5


def active_members() -> int:
    return db.session.scalar(select(func.count(Member.id)).where(Member.active.is_(True))) or 0


def deactivation_refusal(deactivating: int, active: int) -> str | None:
    """Why deactivating ``deactivating`` of ``active`` members (counted before) at once needs
    forcing, or None when it does not."""
    if deactivating > max(SAFE_DEACTIVATION_FLOOR, SAFE_DEACTIVATION_SHARE * active):
        return _("it would deactivate %(n)d of %(active)d active members", n=deactivating, active=active)
    return None


def read_rows(path: str | Path, content: bytes | None = None) -> list[dict[str, str]]:
    """Rows as dicts keyed by the header, from .csv (UTF-8, with or without BOM, or GB18030) or .xlsx."""
    name = str(path).lower()
    data = content if content is not None else Path(path).read_bytes()
    if name.endswith(".xlsx"):
        import zipfile

        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
            rows = list(sheet.iter_rows(values_only=True))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise RosterError("the file is not an Excel workbook (.xlsx): save it again from Excel or WPS") from None
        if not rows:
            return []
        header = [str(h).strip() if h is not None else "" for h in rows[0]]
        return [{h: _cell(v) for h, v in zip(header, row)} for row in rows[1:] if any(v is not None for v in row)]
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise RosterError("the CSV file is neither UTF-8 nor GB18030")
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
    raise RosterError("a roster is a .csv or .xlsx file")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def import_roster(path: str | Path, *, apply: bool = False, deactivate_missing: bool = True,
                  content: bytes | None = None, force: bool = False) -> Report:
    """Dry-run or apply a roster file.  A member file that would deactivate more than a tenth of the
    active members is not applied unless ``force`` (``report.too_many_leavers`` says why)."""
    rows = read_rows(path, content)
    if not rows:
        raise RosterError("the file has no rows")
    headers = set(rows[0])
    if set(ORG_COLUMNS) - {"联合党支部"} <= headers:
        report = reconcile_organisations(rows, apply)
    elif set(MEMBER_COLUMNS) - {"入党日期"} <= headers:
        active = active_members()  # before the reconciliation deactivates anyone
        report = reconcile_members(rows, apply, deactivate_missing)
        if report.deactivated:
            report.too_many_leavers = deactivation_refusal(len(report.deactivated), active)
    else:
        raise RosterError(
            "unknown columns: an organisation roster needs 组织编号, 组织名称, 组织类别, 上级组织编号; "
            "a member roster needs 党员编号, 姓名, 所在党组织编号, 人员类别"
        )
    if apply and not report.problems and (force or not report.too_many_leavers):
        db.session.commit()
        report.applied = True
    else:
        db.session.rollback()
    return report


def reconcile_organisations(rows, apply: bool) -> Report:
    report = Report("organisations", rows=len(rows))
    existing = {o.external_id: o for o in db.session.scalars(select(Organisation).where(Organisation.external_id.is_not(None)))}
    seen: dict[str, int] = {}
    parsed = []
    for number, row in enumerate(rows, start=2):
        external_id, name = row.get("组织编号", ""), row.get("组织名称", "")
        kind = ORG_KINDS.get(row.get("组织类别", ""))
        if not external_id:
            report.problems.append(RowProblem(number, _("%(column)s is empty", column="组织编号")))
            continue
        if external_id in seen:
            report.problems.append(RowProblem(number, _("%(column)s %(value)s repeats row %(row)d", column="组织编号", value=external_id,
                                                                  row=seen[external_id])))
            continue
        seen[external_id] = number
        if not name:
            report.problems.append(RowProblem(number, _("%(column)s is empty", column="组织名称")))
        if kind is None:
            report.problems.append(RowProblem(number, _("%(column)s %(value)s is not one of %(choices)s", column="组织类别",
                                                                  value=repr(row.get("组织类别", "")), choices="、".join(ORG_KINDS))))
            continue
        parsed.append((number, external_id, name, kind, row.get("上级组织编号", ""), row.get("联合党支部", "") in YES))
    known = set(existing) | {p[1] for p in parsed}
    for number, external_id, _name, _kind, parent, _joint in parsed:
        if parent and parent not in known:
            report.problems.append(RowProblem(number, _("上级组织编号 %(value)s is neither in the file nor in the tree", value=parent)))
    if report.problems:
        return report
    # Parents before children: repeat passes until every row has its parent.
    pending = parsed
    while pending:
        progress, later = False, []
        for item in pending:
            number, external_id, name, kind, parent_id, joint = item
            if parent_id and parent_id not in existing:
                later.append(item)
                continue
            parent = existing.get(parent_id) if parent_id else None
            org = existing.get(external_id)
            try:
                if org is None:
                    org = orgs.create_organisation(name, kind, parent, external_id=external_id, joint=joint)
                    existing[external_id] = org
                    report.created.append(external_id)
                elif org.name != name or org.parent is not parent or not org.active:
                    orgs.update_organisation(org, name=name, parent=parent, move=org.parent is not parent)
                    org.active = True
                    report.updated.append(external_id)
                else:
                    report.unchanged += 1
            except orgs.OrgError as exc:
                report.problems.append(RowProblem(number, str(exc)))
            progress = True
        if not progress:
            for item in later:
                report.problems.append(RowProblem(item[0], _("the 上级组织编号 chain loops")))
            break
        pending = later
    return report


def reconcile_members(rows, apply: bool, deactivate_missing: bool) -> Report:
    report = Report("members", rows=len(rows))
    org_ids = dict(db.session.execute(
        select(Organisation.external_id, Organisation.id).where(Organisation.external_id.is_not(None), Organisation.active.is_(True))
    ).all())
    current = {
        r.external_id: r
        for r in db.session.execute(
            select(Member.id, Member.external_id, Member.name, Member.organisation_id, Member.status, Member.joined_on, Member.active)
            .where(Member.external_id.is_not(None))
        )
    }
    seen: dict[str, int] = {}
    inserts, updates = [], []
    now = utcnow()
    for number, row in enumerate(rows, start=2):
        external_id, name = row.get("党员编号", ""), row.get("姓名", "")
        org_ref, status_text = row.get("所在党组织编号", ""), row.get("人员类别", "")
        problems = []
        if not external_id:
            problems.append(_("%(column)s is empty", column="党员编号"))
        elif external_id in seen:
            problems.append(_("%(column)s %(value)s repeats row %(row)d", column="党员编号", value=external_id,
                                      row=seen[external_id]))
        if not name:
            problems.append(_("%(column)s is empty", column="姓名"))
        if org_ref not in org_ids:
            problems.append(_("所在党组织编号 %(value)s is not an organisation", value=repr(org_ref)))
        status = STATUSES.get(status_text)
        if status is None:
            problems.append(_("%(column)s %(value)s is not one of %(choices)s", column="人员类别",
                                      value=repr(status_text), choices="、".join(STATUSES)))
        joined_on = None
        if row.get("入党日期"):
            try:
                joined_on = date.fromisoformat(row["入党日期"].replace("/", "-")[:10])
            except ValueError:
                problems.append(_("入党日期 %(value)s is not a date (2020-07-01)", value=repr(row["入党日期"])))
        if problems:
            report.problems.extend(RowProblem(number, p) for p in problems)
            continue
        seen[external_id] = number
        values = dict(name=name, organisation_id=org_ids[org_ref], status=status, joined_on=joined_on, active=True)
        old = current.get(external_id)
        if old is None:
            inserts.append(dict(values, external_id=external_id, created_at=now, updated_at=now))
            report.created.append(external_id)
        elif (old.name, old.organisation_id, old.status, old.joined_on, old.active) != (
            name, values["organisation_id"], status, joined_on, True
        ):
            updates.append(dict(values, id=old.id, updated_at=now))
            report.updated.append(external_id)
        else:
            report.unchanged += 1
    missing = []
    if deactivate_missing:
        missing = [r for key, r in current.items() if key not in seen and r.active]
        report.deactivated = [r.external_id for r in missing]
    if report.problems or not apply:
        return report
    for chunk in range(0, len(inserts), 5_000):
        db.session.execute(insert(Member), inserts[chunk:chunk + 5_000])
    for chunk in range(0, len(updates), 5_000):
        db.session.execute(update(Member), updates[chunk:chunk + 5_000])
    if missing:
        db.session.execute(update(Member), [dict(id=r.id, active=False, updated_at=now) for r in missing])
    return report
