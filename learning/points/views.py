"""Points pages: the member's own points and disputes; rankings, appraisal, manual entries,
disputes, rules and periods for administrators within their scope."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice
from flask_babel import gettext as _, pgettext
from flask_login import current_user, login_required
from sqlalchemy import select

from learning import charts
from learning.web import ConfirmForm
from learning.audit import services as audit
from learning.exports import services as export_jobs
from learning.extensions import db
from learning.orgs import queries as org_queries
from learning.orgs.models import MemberStatus, Organisation
from learning.orgs.scoping import Permission, scope_for
from learning.web import ListPage, admin_required, org_arg, page_arg
from learning.points import appraisal_pages, disputes, manual, periods, queries, ranking_pages, rankings, services
from learning.points.appraisal import branch_service, service_year
from learning.points import exports as points_exports
from learning.points.exports import provenance, rankings_csv, rankings_xlsx
from learning.points.forms import DisputeForm, RuleSettingForm
from learning.points.models import LedgerEntry, Period, PointRule, RuleSetting, Snapshot
from learning.replica import reads_from_replica

bp = Blueprint("points", __name__)


def _period_arg() -> str:
    key = request.args.get("period", "").strip() or periods.current_quarter()
    try:
        return periods.parse(key).key
    except periods.PeriodError:
        abort(404)


def _period_choices() -> list[str]:
    return periods.recent_keys()


# -- the member ----------------------------------------------------------------------------
@bp.route("/points")
@login_required
def my_points():
    member = current_user.member
    if member is None:
        return render_template("points/my_points.html", member=None)
    pagination = org_queries.paginate(queries.member_entries(member), page_arg(), current_app.config["PAGE_SIZE"])
    entries = list(pagination.items)
    labels_, values = queries.daily_series(member)
    return render_template(
        "points/my_points.html",
        member=member,
        summary=queries.member_summary(member),
        caps=services.caps_left_today(member),
        pagination=pagination,
        entries=entries,
        disputed=queries.open_dispute_entry_ids(member),
        given=manual.by_entry([e.id for e in entries]),
        corrected=queries.corrected_entry_ids([e.id for e in entries]),
        disputes=queries.member_disputes(member),
        chart=charts.line_chart(labels_, values, title=_("My points over the last 90 days"), unit=pgettext("unit", "points")),
        form=DisputeForm(),
    )


@bp.route("/points/entries/<int:entry_id>/dispute", methods=["POST"])
@login_required
def dispute(entry_id: int):
    entry = db.session.get(LedgerEntry, entry_id)
    member = current_user.member
    if entry is None or member is None or entry.member_id != member.id:
        abort(404)
    form = DisputeForm()
    if not form.validate_on_submit():
        for error in form.reason.errors:
            flash(error, "error")
        return redirect(url_for("points.my_points"))
    try:
        disputes.open_dispute(entry, member, form.reason.data)
    except services.PointsError as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(_("Your dispute has been sent to your branch."), "success")
    return redirect(url_for("points.my_points"))


# -- rankings and appraisal ---------------------------------------------------------------
@bp.route("/admin/points/rankings")
@admin_required(Permission.VIEW_SCORES)
@reads_from_replica
def rankings_page():
    org = org_arg(Permission.VIEW_SCORES)
    period_key = _period_arg()
    status = request.args.get("status", "")
    statuses = [status] if status in {s.value for s in MemberStatus} else None
    page_size = current_app.config["PAGE_SIZE"]
    page = page_arg()
    counts, children = ranking_pages.page_figures(org, period_key, statuses)
    ranking = ranking_pages.member_ranking_page(org, period_key, statuses, page=page, per_page=page_size, counts=counts)
    members, total = ranking.rows, ranking.total
    hist_labels, hist_counts = charts.histogram_of_counts(ranking.distribution)
    return render_template(
        "points/rankings.html",
        org=org,
        period_key=period_key,
        period_choices=_period_choices(),
        closed=rankings.is_closed(period_key),
        members=members,
        page=page,
        pages=max((total + page_size - 1) // page_size, 1),
        children=children,
        status=status,
        statuses=list(MemberStatus),
        tie_break=_("Equal scores share a rank; they are listed by who reached the score first, then by name."),
        distribution_chart=charts.bar_chart(hist_labels, hist_counts, title=_("How many members have how many points"),
                                            unit=pgettext("unit", "members")),
        branch_chart=charts.bar_list([c.name for c in children], [c.score for c in children],
                                     title=_("Scores of the organisations below"), unit=pgettext("unit", "points")),
        provenance=provenance(period_key),
    )


# Branch star ratings listed on the appraisal page (a city has thousands; the Excel file lists all).
BRANCH_ROWS = 100


@bp.route("/admin/points/appraisal")
@admin_required(Permission.VIEW_SCORES)
@reads_from_replica
def appraisal_page():
    org = org_arg(Permission.VIEW_SCORES)
    period_key = _period_arg()
    found = appraisal_pages.figures(org, period_key)
    served = branch_service(org, period_key)
    size = current_app.config["PAGE_SIZE"]
    return render_template(
        "points/appraisal.html",
        org=org,
        period_key=period_key,
        period_choices=_period_choices(),
        listed=ListPage.counted(found.appraised.total, page_arg(), size, lambda number: appraisal_pages.page_rows(
            org, period_key, found, page=number, per_page=size)),
        counts=found.counts,  # over every appraised member, not the page
        branches=rankings.branch_ranking(org, period_key),
        branch_rows=BRANCH_ROWS,
        service_year=service_year(period_key) if served is not None else None,  # None: all time, or no orglife
        branch_service=served,
        today=periods.local_today(),
        provenance=provenance(period_key),
        closed=rankings.is_closed(period_key),
    )


@bp.route("/admin/points/export")
@admin_required(Permission.VIEW_SCORES)
@reads_from_replica
def export():
    org = org_arg(Permission.VIEW_SCORES)
    period_key = _period_arg()
    fmt = request.args.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        abort(404)
    if export_jobs.in_background(org):  # a city's file takes longer than a request may wait
        return redirect(url_for("exports.new", kind="rankings", org=org.id, period=period_key))
    filename = points_exports.filename(org, period_key, fmt)
    book = rankings_xlsx(org, period_key) if fmt == "xlsx" else None
    data = rankings_csv(org, period_key) if fmt == "csv" else None
    audit.record("data.exported", actor=current_user, target=f"rankings:{period_key}", organisation_id=org.id,
                 detail={"format": fmt})
    db.session.commit()
    if book is not None:
        return book.response(filename)
    response = make_response(data)
    response.mimetype = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# -- rules -----------------------------------------------------------------------------------
@bp.route("/admin/points/rules")
@admin_required(Permission.MANAGE_ORGS)
def rules_page():
    org = org_arg(Permission.MANAGE_ORGS)
    today = periods.local_today()
    rules = db.session.scalars(select(PointRule).order_by(PointRule.subject, PointRule.id)).all()
    effective = {r.id: services.effective_setting(r, org, today) for r in rules}
    return render_template("points/rules.html", org=org, rules=rules, effective=effective)


@bp.route("/admin/points/rules/<code>", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_ORGS)
def edit_rule(code: str):
    rule = services.rule_by_code(code)
    if rule is None:
        abort(404)
    scope = scope_for(current_user)
    orgs = db.session.scalars(scope.orgs(Permission.MANAGE_ORGS).where(Organisation.kind != "group")
                              .order_by(Organisation.path).limit(500)).all()
    form = RuleSettingForm()
    choices = [SelectChoice(o.id, ("　" * o.depth) + o.name) for o in orgs]
    if scope.is_global(Permission.MANAGE_SYSTEM):
        choices.insert(0, SelectChoice(0, _("Everyone (default)")))
    form.organisation.choices = choices
    current = services.effective_setting(rule, orgs[0] if orgs else None, periods.local_today())
    if rule.manual:
        form.points.data = form.points.data or 0  # a manual rule has no points of its own
    if request.method == "GET" and current is not None:
        form.points.data, form.daily_cap.data, form.period_cap.data = current.points, current.daily_cap, current.period_cap
        form.cap_period.data = current.cap_period
        form.review_above.data, form.review_total.data = current.review_above, current.review_total
    if form.validate_on_submit():
        target = None if form.organisation.data == 0 else db.session.get(Organisation, form.organisation.data)
        if form.organisation.data != 0 and not scope.can_org(Permission.MANAGE_ORGS, target):
            abort(404)
        try:
            services.change_setting(
                rule, actor=current_user, organisation=target, points=form.points.data,
                daily_cap=form.daily_cap.data, period_cap=form.period_cap.data, cap_period=form.cap_period.data,
                active=form.active.data, starts_on=form.starts_on.data, ends_on=form.ends_on.data, note=form.note.data,
                review_above=form.review_above.data if rule.manual else None,
                review_total=form.review_total.data if rule.manual else None,
            )
        except services.PointsError as exc:
            db.session.rollback()
            getattr(form, exc.field or "points").errors.append(str(exc.message))
        else:
            db.session.commit()
            flash(_("The rule has been changed; earlier entries keep their points."), "success")
            return redirect(url_for("points.edit_rule", code=rule.code))
    visible = [o.id for o in orgs]
    history = db.session.scalars(
        select(RuleSetting).where(RuleSetting.rule_id == rule.id)
        .where(RuleSetting.organisation_id.is_(None) | RuleSetting.organisation_id.in_(visible or [-1]))
        .order_by(RuleSetting.id.desc())
    ).all()
    return render_template("points/rule_edit.html", rule=rule, form=form, history=history)


# -- periods ---------------------------------------------------------------------------------
@bp.route("/admin/points/periods")
@admin_required(Permission.MANAGE_SYSTEM)
def periods_page():
    rows = db.session.execute(
        select(Period, Snapshot).outerjoin(Snapshot, Snapshot.period_key == Period.key).order_by(Period.starts_on.desc())
    ).all()
    return render_template("points/periods.html", rows=rows, form=ConfirmForm(), today=periods.local_today())


@bp.route("/admin/points/periods/<key>/close", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def close_period(key: str):
    from learning.points.snapshots import close_period as close

    ConfirmForm().validate_on_submit() or abort(400)
    try:
        result = close(key, actor=current_user)
    except (services.PointsError, periods.PeriodError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("%(period)s is closed: %(members)d members frozen.", period=key, members=result.snapshot.member_rows), "success")
    return redirect(url_for("points.periods_page"))


@bp.route("/admin/points/periods/<key>/verify", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def verify_period(key: str):
    from learning.points.snapshots import verify_snapshot

    ConfirmForm().validate_on_submit() or abort(400)
    problems = verify_snapshot(key)
    if problems:
        flash(_("The snapshot of %(period)s does not match the ledger: %(problem)s", period=key, problem=problems[0]), "error")
    else:
        flash(_("The snapshot of %(period)s matches the ledger.", period=key), "success")
    return redirect(url_for("points.periods_page"))
