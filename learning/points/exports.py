"""Ranking exports: XLSX (XlsxWriter, row by row) with a members sheet and a branches sheet, or CSV of members.

Column headers are in the default language (Chinese).  A closed period's file carries its
snapshot checksum, so a printed table can be traced to the ledger rows behind it.
"""
from __future__ import annotations

import csv
import io

from flask_babel import gettext as _

from learning import labels
from learning.db import utcnow
from learning.spreadsheet import LargeWorkbook, safe_row
from learning.orgs.models import Organisation
from learning.points import periods
from learning.points.appraisal_pages import each_row
from learning.points.rankings import branch_ranking, snapshot_for


def _member_header():
    return [_("Rank"), _("Name"), _("Organisation"), _("Status"), _("Points"), _("Percentile"),
            _("Suggested grade"), _("Eligible for awards"), _("Required hours"), _("Required quota"),
            _("Elective hours"), _("Elective quota"), _("Why not eligible"), _("Volunteer service hours in the year")]


def _member_rows(org: Organisation, period_key: str):
    statuses, grades = {}, {}  # worded once each, not once a member
    eligible = {None: _("Not yet available"), True: _("Yes"), False: _("No")}
    for row in each_row(org, period_key):
        r, h = row.ranking, row.hours
        if r.status not in statuses:
            statuses[r.status] = labels.member_status(r.status)
        grade = row.grade if r.status == "full" else "-"
        if grade not in grades:
            grades[grade] = labels.grade(grade) if grade != "-" else _("Not graded")
        yield [r.rank, r.name, r.organisation_name, statuses[r.status], r.points, r.percentile, grades[grade],
               eligible[row.eligible],
               *((float(h.required), float(h.need_required), float(h.elective), float(h.need_elective)) if h
                 else ("", "", "", "")),
               row.reason or "", "" if row.volunteer_hours is None else float(row.volunteer_hours)]


def _branch_header():
    return [_("Rank"), _("Branch"), _("Appraised members"), _("Members taking part"), _("Participation rate"),
            _("Points per member"), _("Own points"), _("Score"), _("Stars")]


def _branch_rows(org: Organisation, period_key: str):
    for r in branch_ranking(org, period_key):
        f = r.figures
        yield [r.rank, r.name, f.member_count, f.active_members, round(f.participation, 1),
               round(f.points_per_member, 2), f.own_points, r.score, r.stars]


def _manual_header():
    return [_("Member or organisation"), _("Organisation"), _("Points"), _("Reason"), _("Given by"), _("Given at"),
            _("Approval"), _("Approved or refused by")]


def _manual_rows(org: Organisation, period_key: str):
    """Every bonus and deduction given in the subtree during the period, with who gave and who approved it."""
    from learning.points import manual

    for m in manual.given_in(org, period_key):
        yield [m.member.name if m.member else m.organisation.name, m.organisation.name, m.points, m.reason,
               m.given_by.name, m.given_at.astimezone(periods.zone()).strftime("%Y-%m-%d %H:%M"), manual.status_name(m.status),
               m.reviewed_by.name if m.reviewed_by else ""]


def provenance(period_key: str) -> str:
    snapshot = snapshot_for(period_key)
    if snapshot is None:
        return _("Live figures: the period is not closed and the numbers may still change.")
    return _("Snapshot of %(period)s, %(rows)d ledger rows, SHA-256 %(checksum)s",
             period=period_key, rows=snapshot.entry_count, checksum=snapshot.checksum)


def rankings_xlsx(org: Organisation, period_key: str, progress=None) -> LargeWorkbook:
    """The members, branches and bonuses-and-deductions sheets, written row by row to a temporary
    file (a city's 220,000 members do not sit in memory); ``.response(name)`` sends it,
    ``.bytes()`` reads it; ``progress`` hears the rows written (a background export)."""
    with LargeWorkbook(progress) as book:
        title = _("%(org)s · %(period)s rankings", org=org.name, period=period_key)
        note = provenance(period_key)
        made = _("Generated at %(time)s (%(zone)s)", time=utcnow().astimezone(periods.zone()).strftime("%Y-%m-%d %H:%M"),
                 zone=periods.zone().key)
        for name, header, rows in (
            (_("Members"), _member_header(), _member_rows(org, period_key)),
            (_("Branches"), _branch_header(), _branch_rows(org, period_key)),
            (_("Bonuses and deductions"), _manual_header(), _manual_rows(org, period_key)),
        ):
            sheet = book.sheet(name, [8, 14, 28, 12, 10, 10, 12, 12, 8])
            sheet.append([title], "title")
            sheet.append([note])
            sheet.append([made])
            sheet.append(header, "header")
            sheet.freeze(4)
            for row in rows:
                sheet.append(row)
    return book


def filename(org: Organisation, period_key: str, fmt: str = "xlsx") -> str:
    return f"rankings-{org.external_id or org.id}-{period_key}.{fmt}"


def register() -> None:
    """The rankings file as a background export, for a city (``learning.exports``)."""
    from flask_babel import lazy_gettext as _l

    from learning.orgs.scoping import Permission
    from learning.exports.services import Kind, register as register_export

    def period(key: str) -> str | None:
        try:
            return periods.parse(key).key
        except periods.PeriodError:
            return None

    register_export(Kind("rankings", _l("Rankings and appraisal"), Permission.VIEW_SCORES, period, rankings_xlsx,
                         filename))


def rankings_csv(org: Organisation, period_key: str) -> bytes:
    """The members sheet as CSV, with a byte-order mark so that Excel opens it as UTF-8."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(["# " + provenance(period_key)])
    writer.writerow(_member_header())
    writer.writerows(safe_row(row) for row in _member_rows(org, period_key))
    return ("\ufeff" + stream.getvalue()).encode("utf-8")
