"""年考评 pages: the year's branches with their parts, scores and stars; the committee confirms (frozen);
A4 print and Excel."""
from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from learning.audit import services as audit
from learning.evaluation import yearly
from learning.extensions import db
from learning.orgs.scoping import Permission
from learning.points import periods
from learning.web import ConfirmForm, admin_required, bounded_int, org_arg

bp = Blueprint("yearly", __name__, url_prefix="/admin/evaluation/years")


def _args():
    org = org_arg(Permission.VIEW_SCORES)
    this_year = periods.local_today().year
    year = bounded_int(request.args.get("year"), low=2000, high=this_year) if request.args.get("year") else this_year - 1
    if year is None:
        abort(404)
    return org, year


@bp.route("/")
@admin_required(Permission.VIEW_SCORES)
def year_page():
    org, year = _args()
    result, rows = yearly.rows_of(org, year)
    return render_template("evaluation/years.html", org=org, year=year, rows=rows, result=result,
                           problems=yearly.verify(result) if result else [], parts=yearly.settings()["parts"],
                           share=str(yearly.settings()["five_star_share"]),
                           may_confirm=yearly.may_confirm(current_user, org) and result is None,
                           confirm=ConfirmForm(), today=periods.local_today(),
                           years=list(range(periods.local_today().year, periods.local_today().year - 5, -1)))


@bp.route("/confirm", methods=["POST"])
@admin_required(Permission.MANAGE_ORGS)
def confirm_year():
    ConfirmForm().validate_on_submit() or abort(400)
    org, year = _args()
    try:
        yearly.confirm(current_user, org, year)
    except yearly.YearError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("The evaluation of %(year)d is confirmed and frozen.", year=year), "success")
    return redirect(url_for("yearly.year_page", org=org.id, year=year))


@bp.route("/export")
@admin_required(Permission.VIEW_SCORES)
def export_year():
    from openpyxl import Workbook

    from learning.spreadsheet import safe_row

    org, year = _args()
    result, rows = yearly.rows_of(org, year)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Yearly evaluation"))
    sheet.append(safe_row([_("Yearly evaluation of %(org)s, %(year)d", org=org.name, year=year)]))
    sheet.append(safe_row([_("Confirmed, checksum %(sum)s", sum=result.checksum) if result else _("Not confirmed yet")]))
    sheet.append(safe_row([_("Rank"), _("Branch"), _("Points part"), _("Inspections part"), _("Reports part"),
                           _("Score"), _("Stars"), _("Ranking score"), _("Inspection points"), _("Reports on time")]))
    for r in rows:
        sheet.append(safe_row([r["rank"], r["branch"], r["points_part"], r["inspections_part"], r["reports_part"],
                               r["score"], r["stars"], r["ranking_score"], r["inspection_points"], r["reports_on_time"]]))
    data = io.BytesIO()
    book.save(data)
    audit.record("data.exported", actor=current_user, target=f"year:{year}", organisation_id=org.id)
    db.session.commit()
    data.seek(0)
    return send_file(data, as_attachment=True, download_name=f"yearly-{org.id}-{year}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
