"""表彰 pages: nominations of a year (nominate, decide, quotas) and the honours record on member pages."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, pgettext
from flask_login import current_user
from sqlalchemy import select

from learning.evaluation import honours, reports
from learning.evaluation.models import Nomination, NominationStatus
from learning.extensions import db
from learning.orgs.models import Member, MemberStatus, Organisation, OrgKind
from learning.orgs.scoping import Permission, in_subtree, scope_for
from learning.points import periods
from learning.web import ConfirmForm, admin_required, bounded_int

bp = Blueprint("honours", __name__, url_prefix="/admin/evaluation/honours")


def _year() -> int:
    this_year = periods.local_today().year
    value = request.args.get("year")
    year = bounded_int(value, low=2000, high=this_year) if value else this_year
    if year is None:
        abort(404)
    return year


def _choices(account):
    """What ``account`` may nominate: the full members of the branches it writes for; the branches below the
    organisations it manages (not its own)."""
    writes = reports.written_branches(account)
    members = []
    for branch in writes:
        members += db.session.scalars(select(Member).join(Organisation, Organisation.id == Member.organisation_id).where(
            in_subtree(Organisation.path, branch.path), Member.active.is_(True), Member.status == MemberStatus.FULL,
            Member.id != (account.member_id or 0)).order_by(Member.name)).all()
    scope = scope_for(account)
    # A branch below an organisation the account manages: in that scope, and not a top of it (a top has no
    # managed organisation above it to nominate it through).
    tops = set(scope.root_ids(Permission.MANAGE_ORGS))
    branches = [b for b in db.session.scalars(scope.orgs(Permission.MANAGE_ORGS).where(
        Organisation.kind == OrgKind.BRANCH, Organisation.active.is_(True)).order_by(Organisation.path).limit(500))
        if b not in writes and b.id not in tops and b.parent_id is not None]
    return members, branches


@bp.route("/", methods=["GET", "POST"])
@admin_required(Permission.VIEW_MEMBERS)
def honour_list():
    year = _year()
    if request.method == "POST":
        ConfirmForm().validate_on_submit() or abort(400)
        action = request.form.get("action")
        try:
            if action == "nominate":
                title = request.form.get("title", "")
                subject = honours.titles().get(title, {}).get("subject")
                member = db.session.get(Member, bounded_int(request.form.get("member")) or 0) if subject == "member" else None
                org = db.session.get(Organisation, bounded_int(request.form.get("organisation")) or 0) \
                    if subject == "organisation" else None
                honours.nominate(current_user, year, title, member=member, organisation=org,
                                 reason=request.form.get("reason", ""))
                done = _("The nomination is sent to the committee.")
            elif action in ("approve", "refuse"):
                nomination = db.session.get(Nomination, bounded_int(request.form.get("nomination")) or 0)
                if nomination is None:
                    abort(404)
                honours.decide(current_user, nomination, approve=action == "approve", note=request.form.get("note", ""))
                done = _("Approved.") if action == "approve" else _("Refused.")
            elif action == "quota":
                committee = db.session.get(Organisation, bounded_int(request.form.get("organisation")) or 0)
                value = bounded_int(request.form.get("quota"), low=0, high=100)
                if committee is None:
                    abort(404)
                honours.set_quota(current_user, committee, year, request.form.get("title", ""), -1 if value is None else value)
                done = _("The quota is saved.")
            else:
                abort(400)
        except honours.HonourError as exc:
            db.session.rollback()
            flash(str(exc.message), "error")
        else:
            db.session.commit()
            flash(done, "success")
        return redirect(url_for("honours.honour_list", year=year))
    members, branches = _choices(current_user)
    scope = scope_for(current_user)
    committees = db.session.scalars(scope.roots(Permission.MANAGE_ORGS)).all() if scope.has_any(Permission.MANAGE_ORGS) else []
    committees = [c for c in committees if not reports.is_branch(c)]
    return render_template("evaluation/honours.html", year=year, nominations=honours.in_scope(current_user, year),
                           titles=honours.titles(), title_name=honours.title_name, members=members, branches=branches,
                           committees=committees, quota=honours.quota, confirm=ConfirmForm(), statuses=NominationStatus,
                           may_decide=lambda n: honours.may_decide(current_user, n),
                           years=list(range(periods.local_today().year, periods.local_today().year - 5, -1)))


def honours_panel(member, viewer):
    """The member page's honours record (approved titles, by year)."""
    record = honours.record_of_member(member.id)
    return {"honours": [(n.year, honours.title_name(n.title)) for n in record]} if record else None


def org_honours_panel(org, viewer):
    record = honours.record_of_org(org.id)
    return {"honours": [(n.year, honours.title_name(n.title)) for n in record]} if record else None


@bp.route("/export")
@admin_required(Permission.VIEW_MEMBERS)
def export_honours():
    """The year's approved honours in the viewer's scope, as Excel."""
    import io

    from flask import send_file
    from openpyxl import Workbook

    from learning.audit import services as audit
    from learning.spreadsheet import safe_row

    year = _year()
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Honours of %(year)d", year=year))
    sheet.append(safe_row([pgettext("honour", "Title"), _("Nominee"), _("Organisation"), _("Nominated by"), _("Reasons")]))
    for n in honours.in_scope(current_user, year):
        if n.status == NominationStatus.APPROVED:
            sheet.append(safe_row([honours.title_name(n.title), n.member.name if n.member else n.organisation.name,
                                   n.member.organisation.name if n.member else n.organisation.name,
                                   n.nominated_by_org.name, n.reason]))
    data = io.BytesIO()
    book.save(data)
    audit.record("data.exported", actor=current_user, target=f"honours:{year}")
    db.session.commit()
    data.seek(0)
    return send_file(data, as_attachment=True, download_name=f"honours-{year}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def register() -> None:
    from learning.web.panels import register_member_panel, register_org_panel

    register_member_panel("evaluation/_honours_panel.html", honours_panel, order=60)
    register_org_panel("evaluation/_honours_panel.html", org_honours_panel, order=60)
