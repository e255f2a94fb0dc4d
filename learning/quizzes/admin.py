"""Quiz administration: question banks (upload, export, item analysis, retiring questions) for
superadmins, and challenge campaigns for secretaries and organisation administrators."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice
from flask_babel import gettext as _, pgettext
from flask_login import current_user
from sqlalchemy import or_, select

from learning import charts
from learning.web import ConfirmForm
from learning.extensions import db
from learning.orgs.models import Organisation, OrgKind
from learning.orgs.queries import paginate
from learning.orgs.scoping import Permission, org_or_404, scope_for
from learning.web import admin_required, id_arg, page_arg
from learning.points import periods
from learning.quizzes import analysis, banks, boards, challenges, reach
from learning.quizzes.attempts import QuizError
from learning.quizzes.challenges import ChallengeSpec, LevelSpec
from learning.quizzes.forms import ChallengeForm, UploadForm
from learning.quizzes.models import Challenge, ChallengeStatus, Question, QuestionBank, QuestionKind, Quiz

bp = Blueprint("quiz_admin", __name__, url_prefix="/admin")


# -- banks ------------------------------------------------------------------------------------
def _upload_form() -> UploadForm:
    form = UploadForm()
    form.bank.choices = [SelectChoice(0, _("A new bank"))] + [
        SelectChoice(b.id, b.title) for b in db.session.scalars(select(QuestionBank).order_by(QuestionBank.title))]
    return form


def _bank_page(form: UploadForm, errors: list[str]) -> str:
    rows = db.session.scalars(select(QuestionBank).order_by(QuestionBank.title)).all()
    quizzes = db.session.scalars(select(Quiz).where(Quiz.kind != "level").order_by(Quiz.kind, Quiz.slug)).all()
    return render_template("quizzes/admin_banks.html", banks=rows, counts=banks.bank_counts(), quizzes=quizzes,
                           bank_titles={b.id: b.title for b in rows}, form=form, errors=errors)


@bp.route("/quizzes/")
@admin_required(Permission.MANAGE_SYSTEM)
def bank_list():
    return _bank_page(_upload_form(), [])


@bp.route("/quizzes/upload", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def upload():
    form = _upload_form()
    errors: list[str] = []
    if form.validate_on_submit():
        upload_file = form.file.data
        try:
            bank = db.session.get(QuestionBank, form.bank.data) if form.bank.data else \
                banks.create_bank(form.slug.data, form.title.data)
        except banks.BankError:
            form.slug.errors.append(_("A bank with this short name exists already."))
            bank = None
        if bank is not None:
            report = banks.import_upload(bank, upload_file.filename or "upload.txt", upload_file.read())
            if report.ok:
                db.session.commit()
                flash(_("%(bank)s: %(c)d questions added, %(u)d updated, %(s)d unchanged.", bank=bank.title,
                        c=report.created, u=report.updated, s=report.unchanged), "success")
                return redirect(url_for("quiz_admin.bank_detail", bank_id=bank.id))
            db.session.rollback()
            errors = report.errors
    return _bank_page(form, errors), 400


@bp.route("/quizzes/banks/<int:bank_id>")
@admin_required(Permission.MANAGE_SYSTEM)
def bank_detail(bank_id: int):
    bank = db.session.get(QuestionBank, bank_id) or abort(404)
    q, category, kind = request.args.get("q", "").strip()[:100], request.args.get("category", ""), request.args.get("kind", "")
    show = request.args.get("show", "live")
    query = select(Question).where(Question.bank_id == bank.id)
    if q:
        query = query.where(or_(Question.stem.contains(q), Question.key.contains(q)))
    if category:
        query = query.where(Question.category == category)
    if kind in {k.value for k in QuestionKind}:
        query = query.where(Question.kind == kind)
    if show == "retired":
        query = query.where(Question.retired_at.is_not(None))
    elif show != "all":
        query = query.where(Question.retired_at.is_(None))
    pagination = paginate(query.order_by(Question.category, Question.id), page_arg(), 50)
    stats = {row["question_id"]: row for row in analysis.item_stats(bank_id=bank.id)}
    categories = db.session.scalars(select(Question.category).where(Question.bank_id == bank.id)
                                    .group_by(Question.category).order_by(Question.category)).all()
    return render_template("quizzes/admin_bank.html", bank=bank, pagination=pagination, stats=stats, flag=analysis.flag,
                           categories=categories, q=q, category=category, kind=kind, show=show,
                           kinds=list(QuestionKind), confirm_form=ConfirmForm())


@bp.route("/quizzes/banks/<int:bank_id>/contest-only", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def set_contest_only(bank_id: int):
    bank = db.session.get(QuestionBank, bank_id) or abort(404)
    ConfirmForm().validate_on_submit() or abort(400)
    banks.set_contest_only(bank, request.form.get("contest_only") == "1")
    db.session.commit()
    flash(_("Only challenge campaigns draw from this bank now.") if bank.contest_only
          else _("The daily quiz and course quizzes may draw from this bank again."), "success")
    return redirect(url_for("quiz_admin.bank_detail", bank_id=bank.id))


@bp.route("/quizzes/banks/<int:bank_id>/export.gift")
@admin_required(Permission.MANAGE_SYSTEM)
def export_bank(bank_id: int):
    bank = db.session.get(QuestionBank, bank_id) or abort(404)
    return Response(banks.export_bank(bank), mimetype="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={bank.slug}.gift"})


@bp.route("/quizzes/questions/<int:question_id>")
@admin_required(Permission.MANAGE_SYSTEM)
def question_detail(question_id: int):
    question = db.session.get(Question, question_id) or abort(404)
    row = next(iter(analysis.item_stats(bank_id=question.bank_id, question_id=question.id)), None)
    counts = analysis.option_counts(question)
    chart = None
    if counts.get("options"):
        chart = charts.bar_chart([chr(ord("A") + i) for i in range(len(counts["options"]))],
                                 [o["count"] for o in counts["options"]], title=_("Options chosen"), unit=pgettext("unit", "times"),
                                 highlight=max(range(len(question.answers)), key=lambda i: question.answers[i]["weight"]))
    return render_template("quizzes/admin_question.html", question=question, row=row, counts=counts, chart=chart,
                           confirm=ConfirmForm(), flag=analysis.flag(row) if row else None)


@bp.route("/quizzes/questions/<int:question_id>/<any(retire, restore):action>", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def retire_question(question_id: int, action: str):
    question = db.session.get(Question, question_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        if action == "retire":
            banks.retire_question(question)
            flash(_("The question is retired: new attempts no longer draw it."), "success")
        else:
            banks.restore_question(question)
            flash(_("The question is back in the bank."), "success")
        db.session.commit()
    return redirect(url_for("quiz_admin.question_detail", question_id=question.id))


# -- campaigns --------------------------------------------------------------------------------
def _campaign_orgs() -> list[Organisation]:
    scope = scope_for(current_user)
    return db.session.scalars(scope.orgs(Permission.RUN_CAMPAIGNS).where(
        Organisation.active.is_(True), Organisation.kind != OrgKind.GROUP).order_by(Organisation.path)).all()


def _challenge_or_404(challenge_id: int) -> Challenge:
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None or not scope_for(current_user).can_org(Permission.RUN_CAMPAIGNS, challenge.organisation):
        abort(404)
    return challenge


@bp.route("/challenges/")
@admin_required(Permission.RUN_CAMPAIGNS)
def challenge_list():
    rows = challenges.challenges_in_scope(scope_for(current_user), Permission.RUN_CAMPAIGNS)
    return render_template("quizzes/admin_challenges.html", challenges=rows, confirm=ConfirmForm())


@bp.route("/challenges/ours")
@admin_required(Permission.VIEW_MEMBERS)
def our_campaigns():
    """Campaigns run above the viewer's organisation (the park's), with its own members' figures."""
    org_id = id_arg("org")
    if org_id is not None:
        org = org_or_404(current_user, org_id)
    else:
        org = scope_for(current_user).first_root(Permission.VIEW_MEMBERS)
        if org is None:
            abort(403)
    campaigns = reach.reaching(org)
    chosen_id = id_arg("challenge")
    chosen = next((c for c in campaigns if c.id == chosen_id), None) if chosen_id else (campaigns[0] if campaigns else None)
    if chosen_id and chosen is None:
        abort(404)
    figures = reach.our_figures(chosen, org) if chosen else None
    return render_template("quizzes/admin_our_campaigns.html", org=org, campaigns=campaigns, chosen=chosen,
                           figures=figures)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(periods.zone()).replace(tzinfo=None)


def _utc(local: datetime) -> datetime:
    return local.replace(tzinfo=periods.zone()).astimezone(timezone.utc)


@bp.route("/challenges/new", methods=["GET", "POST"])
@bp.route("/challenges/<int:challenge_id>/edit", methods=["GET", "POST"])
@admin_required(Permission.RUN_CAMPAIGNS)
def edit_challenge(challenge_id: int | None = None):
    challenge = _challenge_or_404(challenge_id) if challenge_id else None
    form = ChallengeForm()
    form.organisation.choices = [SelectChoice(o.id, o.name) for o in _campaign_orgs()]
    form.banks.choices = [SelectChoice(b.id, b.title) for b in db.session.scalars(select(QuestionBank).order_by(QuestionBank.title))]
    if request.method == "GET" and challenge is not None:
        form.title.data, form.description.data = challenge.title, challenge.description
        form.organisation.data, form.attempts_per_day.data = challenge.organisation_id, challenge.attempts_per_day
        form.starts_at.data, form.ends_at.data = _local(challenge.starts_at), _local(challenge.ends_at)
        form.banks.data = list(challenge.bank_ids)
        while len(form.levels) < len(challenge.levels):
            form.levels.append_entry()
        for entry, level in zip(form.levels, challenge.levels):
            entry.form.title.data, entry.form.points.data = level.title, level.points
            entry.form.question_count.data, entry.form.pass_percent.data = level.quiz.question_count, level.quiz.pass_percent
            entry.form.seconds_per_question.data = level.quiz.seconds_per_question
    if request.method == "POST" and request.form.get("add_level") and len(form.levels) < 20:
        form.validate()
        form.levels.append_entry()
        return render_template("quizzes/admin_challenge_edit.html", form=form, challenge=challenge)
    if form.validate_on_submit():
        spec = ChallengeSpec(
            title=form.title.data, description=form.description.data or "", starts_at=_utc(form.starts_at.data),
            ends_at=_utc(form.ends_at.data), attempts_per_day=form.attempts_per_day.data, bank_ids=form.banks.data,
            levels=[LevelSpec(e.form.title.data or "", e.form.question_count.data, e.form.pass_percent.data,
                              e.form.seconds_per_question.data, e.form.points.data) for e in form.levels])
        organisation = db.session.get(Organisation, form.organisation.data)
        try:
            if challenge is None:
                challenge = challenges.create_challenge(organisation, spec, actor=current_user)
            else:
                challenges.update_challenge(challenge, spec, organisation=organisation)
        except QuizError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return render_template("quizzes/admin_challenge_edit.html", form=form, challenge=challenge), 400
        db.session.commit()
        flash(_("Campaign saved."), "success")
        return redirect(url_for("quiz_admin.challenge_stats", challenge_id=challenge.id))
    status = 400 if request.method == "POST" else 200
    return render_template("quizzes/admin_challenge_edit.html", form=form, challenge=challenge), status


@bp.route("/challenges/<int:challenge_id>/publish", methods=["POST"])
@admin_required(Permission.RUN_CAMPAIGNS)
def publish_challenge(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    if ConfirmForm().validate_on_submit():
        try:
            challenges.publish(challenge)
        except QuizError as exc:
            db.session.rollback()
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Published: members below %(org)s see the campaign.", org=challenge.organisation.name), "success")
    return redirect(url_for("quiz_admin.challenge_stats", challenge_id=challenge.id))


@bp.route("/challenges/<int:challenge_id>")
@admin_required(Permission.RUN_CAMPAIGNS)
def challenge_stats(challenge_id: int):
    challenge = _challenge_or_404(challenge_id)
    challenges.refresh_status(challenge)
    db.session.commit()
    figures = challenges.stats(challenge)
    branch_rows = boards.branch_board(challenge, request.args.get("sort", "participation"))
    participation_chart = charts.bar_list([b["name"] for b in branch_rows],
                                          [round(b["participation"] * 100) for b in branch_rows],
                                          title=_("Participation by branch, in percent"), unit="%", maximum=100)
    level_chart = charts.bar_list([lv["level"].title for lv in figures["levels"]], [lv["passed"] for lv in figures["levels"]],
                                  title=_("Members who passed each level"), unit=pgettext("unit", "members"))
    day_chart = charts.line_chart([d.strftime("%m-%d") for d, _n in figures["per_day"]],
                                  [n for _d, n in figures["per_day"]], title=_("Attempts per day"), unit=pgettext("unit", "attempts"))
    members = boards.member_board(challenge, limit=50)
    return render_template("quizzes/admin_challenge.html", challenge=challenge, figures=figures, branches=branch_rows,
                           members=members, participation_chart=participation_chart, level_chart=level_chart,
                           day_chart=day_chart, confirm=ConfirmForm(), started=challenges.has_started(challenge),
                           draft=challenge.status is ChallengeStatus.DRAFT)
