"""The 学时 compliance report in SQL, for a subtree of any size.

One SELECT gives every active member of the subtree with their credit hours in the period, what
their quota asks of them and how far behind they are: the quota is resolved per organisation by a
CASE over the few organisations that set one (the deepest wins), the hours are one GROUP BY over
the period's completions.  Pages, counts per branch, the Excel file and the reminders all read it,
so a city's 220,000 members are never loaded as objects; ``services.compliance`` computes the same
figures in Python for a handful of members and the tests hold the two equal.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased

from learning.courses.models import CourseCompletion, CreditKind, StudyQuota
from learning.courses.services import default_quota
from learning.extensions import db
from learning.orgs.models import Member, Organisation, OrgKind
from learning.orgs.scoping import in_subtree


@dataclass
class Line:
    member_id: int
    external_id: str | None
    name: str
    status: str
    organisation_id: int
    organisation: str
    got_required: Decimal
    got_elective: Decimal
    need_required: Decimal
    need_elective: Decimal
    behind_required: Decimal
    behind_elective: Decimal
    set_by: int | None

    @property
    def compliant(self) -> bool:
        return self.behind_required <= 0 and self.behind_elective <= 0


def _need(kind: str, required: Decimal, elective: Decimal, yearly: bool) -> tuple[Decimal, Decimal]:
    """A quota's hours for the period asked: a yearly quota is a quarter's times four."""
    if yearly and kind == "quarter":
        return required * 4, elective * 4
    if not yearly and kind == "year":
        return required / 4, elective / 4
    return required, elective


def _quota_columns(org: Organisation, yearly: bool):
    """(need required, need elective, set by, the quota's period kind) as CASE expressions on Organisation.path: the quotas
    set on ``org``, above it or below it, deepest first, then the default."""
    setters = db.session.execute(
        select(StudyQuota.organisation_id, StudyQuota.period_kind, StudyQuota.required_hours,
               StudyQuota.elective_hours, Organisation.path)
        .join(Organisation, Organisation.id == StudyQuota.organisation_id)
        .where(or_(in_subtree(Organisation.path, org.path), Organisation.id.in_(org.ancestor_ids())))
        .order_by(Organisation.depth.desc())).all()
    default = default_quota()
    fallback = _need(default.period_kind, default.required, default.elective, yearly)
    required, elective, set_by, kind = [], [], [], []
    for s in setters:
        need = _need(s.period_kind, Decimal(s.required_hours), Decimal(s.elective_hours), yearly)
        where = in_subtree(Organisation.path, s.path)
        required.append((where, literal(need[0])))
        elective.append((where, literal(need[1])))
        set_by.append((where, literal(s.organisation_id)))
        kind.append((where, literal(s.period_kind)))
    if not setters:
        return literal(fallback[0]), literal(fallback[1]), literal(None), literal(default.period_kind)
    return (case(*required, else_=literal(fallback[0])), case(*elective, else_=literal(fallback[1])),
            case(*set_by, else_=literal(None)), case(*kind, else_=literal(default.period_kind)))


def lines_query(org: Organisation, period_key: str, *, behind_only: bool = False, member_ids=None):
    """Every active member below ``org`` (or those of ``member_ids``, a list or a SELECT of ids)
    with hours, need and shortfall."""
    yearly = "Q" not in period_key
    column = CourseCompletion.year_key if yearly else CourseCompletion.quarter_key
    hours = (
        select(CourseCompletion.member_id,
               func.sum(case((CourseCompletion.credit_kind == CreditKind.REQUIRED, CourseCompletion.credit_hours),
                             else_=0)).label("required"),
               func.sum(case((CourseCompletion.credit_kind == CreditKind.ELECTIVE, CourseCompletion.credit_hours),
                             else_=0)).label("elective"))
        .where(column == period_key).group_by(CourseCompletion.member_id)
    )
    if member_ids is not None:
        hours = hours.where(CourseCompletion.member_id.in_(member_ids))
    hours = hours.subquery()
    need_required, need_elective, set_by, quota_kind = _quota_columns(org, yearly)
    got_required = func.coalesce(hours.c.required, 0)
    got_elective = func.coalesce(hours.c.elective, 0)
    behind_required = case((need_required > got_required, need_required - got_required), else_=0)
    behind_elective = case((need_elective > got_elective, need_elective - got_elective), else_=0)
    query = (
        select(Member.id.label("member_id"), Member.external_id, Member.name, Member.status, Member.organisation_id,
               Organisation.name.label("organisation"), got_required.label("got_required"),
               got_elective.label("got_elective"), need_required.label("need_required"),
               need_elective.label("need_elective"), behind_required.label("behind_required"),
               behind_elective.label("behind_elective"), set_by.label("set_by"), quota_kind.label("quota_kind"),
               # a group's members count with its branch
               case((Organisation.kind == OrgKind.GROUP, Organisation.parent_id), else_=Organisation.id)
               .label("branch_id"),
               and_(need_required <= got_required, need_elective <= got_elective).label("compliant"))
        .join(Organisation, Organisation.id == Member.organisation_id)
        .outerjoin(hours, hours.c.member_id == Member.id)
        .where(in_subtree(Organisation.path, org.path), Member.active.is_(True))
    )
    if behind_only:
        query = query.where(or_(need_required > got_required, need_elective > got_elective))
    if member_ids is not None:
        query = query.where(Member.id.in_(member_ids))
    return query


def _line(row) -> Line:
    return Line(row.member_id, row.external_id, row.name, getattr(row.status, "value", row.status),
                row.organisation_id, row.organisation, Decimal(row.got_required), Decimal(row.got_elective),
                Decimal(row.need_required), Decimal(row.need_elective), Decimal(row.behind_required),
                Decimal(row.behind_elective), row.set_by)


def ordered(query):
    inner = query.subquery()
    path = aliased(Organisation)
    return (select(inner).join(path, path.id == inner.c.organisation_id)
            .order_by(path.path, inner.c.name, inner.c.member_id))


def page(org: Organisation, period_key: str, *, behind_only: bool, number: int, size: int) -> list[Line]:
    if behind_only:  # who is behind depends on everyone's hours: the whole report, ordered, one page of it
        query = ordered(lines_query(org, period_key, behind_only=True)).offset((number - 1) * size).limit(size)
        return [_line(r) for r in db.session.execute(query)]
    # everyone: the page's members first (by organisation and name), then the hours of those alone
    ids = list(db.session.scalars(
        select(Member.id).join(Organisation, Organisation.id == Member.organisation_id)
        .where(in_subtree(Organisation.path, org.path), Member.active.is_(True))
        .order_by(Organisation.path, Member.name, Member.id).offset((number - 1) * size).limit(size)))
    if not ids:
        return []
    found = {r.member_id: _line(r) for r in db.session.execute(lines_query(org, period_key, member_ids=ids))}
    return [found[i] for i in ids]


def each_line(org: Organisation, period_key: str, *, behind_only: bool = False, batch: int = 5000):
    """Every line, read in batches from a server-side cursor (the Excel file, the reminders)."""
    result = db.session.execute(ordered(lines_query(org, period_key, behind_only=behind_only))
                                .execution_options(yield_per=batch))
    for row in result:
        yield _line(row)


@dataclass
class Summary:
    members: int
    on_track: int
    branches: list[dict]  # id, name, members, on_track, rate — lowest rate first

    @property
    def behind(self) -> int:
        return self.members - self.on_track

    @property
    def rate(self) -> float:
        return self.on_track / self.members if self.members else 0.0


def summary(org: Organisation, period_key: str) -> Summary:
    """Members and members on track, in all and per branch, in one GROUP BY."""
    lines = lines_query(org, period_key).subquery()
    branch = aliased(Organisation)
    rows = db.session.execute(
        select(lines.c.branch_id, branch.name, func.count(), func.sum(case((lines.c.compliant, 1), else_=0)))
        .join(branch, branch.id == lines.c.branch_id).group_by(lines.c.branch_id, branch.name)).all()
    branches = [{"id": b, "name": name, "members": n, "on_track": int(ok or 0),
                 "rate": int(ok or 0) / n if n else 0.0} for b, name, n, ok in rows]
    branches.sort(key=lambda r: (r["rate"], r["name"]))
    return Summary(sum(b["members"] for b in branches), sum(b["on_track"] for b in branches), branches)


def course_counts(org: Organisation, period_key: str) -> dict[int, int]:
    """Per course, how many active members below ``org`` completed it in the period (a join, not a
    list of member ids)."""
    column = CourseCompletion.year_key if "Q" not in period_key else CourseCompletion.quarter_key
    return dict(db.session.execute(
        select(CourseCompletion.course_id, func.count())  # one completion per member and course (unique)
        .join(Member, Member.id == CourseCompletion.member_id)
        .join(Organisation, Organisation.id == Member.organisation_id)
        .where(column == period_key, in_subtree(Organisation.path, org.path), Member.active.is_(True))
        .group_by(CourseCompletion.course_id)).all())


def workbook(org: Organisation, period_key: str, progress=None):
    """The report as an .xlsx, written line by line (learning.spreadsheet.LargeWorkbook); ``progress``
    hears the lines written (a background export)."""
    from learning import labels
    from learning.spreadsheet import LargeWorkbook

    with LargeWorkbook(progress) as book:
        sheet = book.sheet("学时", [14, 12, 22, 12, 10, 10, 10, 10, 10, 10, 10])
        sheet.append([f"{org.name} · {period_key} 学时完成情况"], "title")
        sheet.append(["党员编号", "姓名", "所在组织", "人员类别", "必修学时", "必修要求", "选修学时", "选修要求", "是否达标",
                      "尚差必修", "尚差选修"], "bold")
        sheet.freeze(2)
        members = on_track = 0
        statuses: dict[str, str] = {}  # each status worded once, not once a line
        for line in each_line(org, period_key):
            members += 1
            on_track += line.compliant
            if line.status not in statuses:
                statuses[line.status] = labels.member_status(line.status)
            sheet.append([line.external_id or "", line.name, line.organisation, statuses[line.status],
                          float(line.got_required), float(line.need_required), float(line.got_elective),
                          float(line.need_elective), "达标" if line.compliant else "未达标",
                          float(line.behind_required), float(line.behind_elective)])
        sheet.append([])
        sheet.append(["合计", f"{members} 人", f"达标 {on_track} 人",
                      f"达标率 {on_track / members:.0%}" if members else "达标率 0%", "年度" if "Q" not in period_key else "季度"])
    return book


def filename(org: Organisation, period_key: str) -> str:
    return f"compliance-{org.id}-{period_key}.xlsx"


def register() -> None:
    """The report's file as a background export, for a city (``learning.exports``)."""
    from flask_babel import lazy_gettext as _l

    from learning.orgs.scoping import Permission
    from learning.exports.services import Kind, register as register_export

    from learning.points import periods

    def period(key: str) -> str | None:
        try:
            span = periods.parse(key)
        except periods.PeriodError:
            return None
        return span.key if span.kind in ("quarter", "year") else None

    register_export(Kind("study-hours", _l("Study hours report"), Permission.VIEW_MEMBERS, period, workbook,
                         filename))
