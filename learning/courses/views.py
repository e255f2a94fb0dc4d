"""Course pages: the member's catalogue, lessons (reader and player), study record and
certificates; the branch's compliance report for secretaries and committees."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _, pgettext
from flask_login import current_user, login_required
from sqlalchemy import select

from learning import charts
from learning.courses import compliance as study_report, services, study
from learning.courses.api import study_problem
from learning.courses.content import media_folder
from learning.courses.forms import QuotaForm
from learning.courses.models import Course, CourseCompletion, Lesson
from learning.courses.rendering import media_url, render_markdown
from learning.audit import services as audit
from learning.exports import services as export_jobs
from learning.extensions import db
from learning.orgs.models import Member
from learning.orgs.scoping import Permission, org_or_404, scope_for
from learning.web import ListPage, admin_required, id_arg, page_arg
from learning.points import periods
from learning.quizzes import services as quiz_services
from learning.replica import reads_from_replica

bp = Blueprint("courses", __name__)


def _member_or_404() -> Member:
    member = current_user.member
    if member is None:
        abort(404)
    return member


def hours_progress(member: Member) -> dict:
    progress = services.hours_against_quota(member)

    def percent(got: Decimal, need: Decimal) -> int:
        return 100 if need <= 0 else min(100, int(got / need * 100))

    return {"period": progress.period_key, "quota": progress.quota, "hours": progress.hours,
            "required_pct": percent(progress.hours.required, progress.quota.required),
            "elective_pct": percent(progress.hours.elective, progress.quota.elective)}


@bp.route("/courses/")
@login_required
def catalogue():
    member = _member_or_404()
    q, show, category = request.args.get("q", "").strip()[:100], request.args.get("show", ""), request.args.get("category", "")
    if show not in ("", "required", "elective", "in_progress", "done"):
        show = ""
    items = services.catalogue(member, q=q, show=show, category=category)
    categories = sorted({c for c in db.session.scalars(select(Course.category).where(Course.published.is_(True))) if c})
    return render_template("courses/catalogue.html", items=items, q=q, show=show, category=category,
                           categories=categories, progress=hours_progress(member))


def _published_course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None or not course.published:
        abort(404)
    return course


@bp.route("/courses/<int:course_id>")
@login_required
def course(course_id: int):
    member = _member_or_404()
    course = _published_course_or_404(course_id)
    quiz = quiz_services.course_quiz(member, course)
    return render_template("courses/course.html", course=course, progress=services.course_progress(member, course),
                           completion=services.completion_of(member, course), quiz=quiz)


@bp.route("/courses/lessons/<int:lesson_id>")
@login_required
def lesson(lesson_id: int):
    _member_or_404()
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.retired_at is not None or not lesson.course.published:
        abort(404)
    lessons = lesson.course.live_lessons
    index = lessons.index(lesson)
    return render_template(
        "courses/lesson.html", lesson=lesson, body=render_markdown(lesson.body), media=media_url(lesson),
        previous=lessons[index - 1] if index > 0 else None, next=lessons[index + 1] if index + 1 < len(lessons) else None,
        progress=services.course_progress(current_user.member, lesson.course).get(lesson.id),
        heartbeat_seconds=study.HEARTBEAT_SECONDS, min_gap_seconds=study.MIN_GAP_SECONDS,
    )


@bp.route("/courses/lessons/<int:lesson_id>/session", methods=["POST"])
@login_required
def start_session(lesson_id: int):
    """Called by the lesson page's script (CSRF header); the same service as the API."""
    member = _member_or_404()
    lesson = db.session.get(Lesson, lesson_id) or abort(404)
    try:
        session = study.start_session(member, lesson)
    except study.StudyError as exc:
        return study_problem(exc)
    return jsonify(token=session.token, heartbeat_seconds=study.HEARTBEAT_SECONDS), 201


@bp.route("/courses/sessions/<token>/heartbeat", methods=["POST"])
@login_required
def heartbeat(token: str):
    member = _member_or_404()
    data = request.get_json(silent=True) or {}
    seq, visible, playing, position = data.get("seq"), data.get("visible", True), data.get("playing"), data.get("position")
    if (not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(visible, bool)
            or (playing is not None and not isinstance(playing, bool))
            or (position is not None and (not isinstance(position, (int, float)) or isinstance(position, bool)))):
        return study_problem(study.StudyError("bad_request", "seq, visible, playing and position have the wrong types"))
    try:
        result = study.heartbeat(member, token, seq=seq, visible=visible, playing=playing, position=position)
    except study.StudyError as exc:
        return study_problem(exc)
    return jsonify(credited=result.credited, lesson_seconds=result.lesson_seconds, note=result.note,
                   lesson_completed=result.lesson_completed, course_completed=result.course_completed)


@bp.route("/courses/media/<name>")
@login_required
def media(name: str):
    return send_from_directory(media_folder(), name, conditional=True, max_age=86_400)


@bp.route("/courses/record")
@login_required
def record():
    member = _member_or_404()
    return render_template("courses/record.html", completions=services.study_record(member),
                           progress=hours_progress(member))


@bp.route("/courses/certificates/<number>")
@login_required
def certificate(number: str):
    completion = db.session.scalar(select(CourseCompletion).where(CourseCompletion.certificate_no == number))
    if completion is None:
        abort(404)
    member = db.session.get(Member, completion.member_id)
    own = current_user.member is not None and current_user.member.id == member.id
    if not own and not scope_for(current_user).can_member(Permission.VIEW_MEMBERS, member):
        abort(404)
    return render_template("courses/certificate.html", completion=completion, member=member)


# -- compliance (secretaries, committees) -----------------------------------------------------
def _period_choices() -> list[str]:
    return periods.recent_keys(4, all_time=False)


def _compliance_args():
    scope = scope_for(current_user)
    org_id = id_arg("org")
    if org_id is None:
        root = scope.first_root(Permission.VIEW_MEMBERS)
        if root is None:
            abort(404)
        org = root
    else:
        org = org_or_404(current_user, org_id, Permission.VIEW_MEMBERS)
    period_key = request.args.get("period", "").strip() or periods.current_quarter()
    try:
        span = periods.parse(period_key)
    except periods.PeriodError:
        abort(404)
    if span.kind not in ("quarter", "year"):
        abort(404)
    return org, span.key


@bp.route("/admin/study", methods=["GET", "POST"])
@admin_required(Permission.VIEW_MEMBERS)
@reads_from_replica
def compliance():
    org, period_key = _compliance_args()
    quota = services.quota_for(org)
    may_set_quota = scope_for(current_user).can_org(Permission.MANAGE_ORGS, org)
    quota_form = QuotaForm(data={"period_kind": quota.period_kind, "required_hours": quota.required,
                                 "elective_hours": quota.elective})
    if request.method == "POST":
        if not may_set_quota:
            abort(404)
        quota_form = QuotaForm()
        if quota_form.validate_on_submit():
            services.set_quota(org, quota_form.period_kind.data, quota_form.required_hours.data,
                               quota_form.elective_hours.data)
            db.session.commit()
            flash(_("The quota for %(org)s and everything below it is saved.", org=org.name), "success")
            return redirect(url_for("courses.compliance", org=org.id, period=period_key))
    report = study_report.summary(org, period_key)  # counts in SQL; only the page's lines are read
    counts = study_report.course_counts(org, period_key)
    titles = dict(db.session.execute(select(Course.id, Course.title).where(Course.id.in_(counts))).all()) if counts else {}
    course_chart = charts.bar_list([titles[c] for c in counts], list(counts.values()),
                                   title=_("Members who completed each course"), unit=pgettext("unit", "members")) if counts else None
    branches = report.branches
    branch_chart = charts.bar_list([b["name"] for b in branches], [round(b["rate"] * 100) for b in branches],
                                   title=_("Share of members on track, by branch, in percent"), unit="%",
                                   maximum=100) if len(branches) > 1 else None
    show = "behind" if request.args.get("show") == "behind" else "all"
    size = current_app.config["PAGE_SIZE"]
    listed = ListPage.counted(report.behind if show == "behind" else report.members, page_arg(), size,
                              lambda n: study_report.page(org, period_key, behind_only=show == "behind", number=n, size=size))
    return render_template("courses/compliance.html", org=org, period_key=period_key, report=report,
                           listed=listed, show=show,
                           quota=quota, quota_form=quota_form if may_set_quota else None,
                           course_chart=course_chart, branch_chart=branch_chart, branches=branches,
                           periods=_period_choices(), children=services.child_orgs(org))


@bp.route("/admin/study.xlsx")
@admin_required(Permission.VIEW_MEMBERS)
@reads_from_replica
def compliance_xlsx():
    org, period_key = _compliance_args()
    if export_jobs.in_background(org):  # a city's file takes longer than a request may wait
        return redirect(url_for("exports.new", kind="study-hours", org=org.id, period=period_key))
    book = study_report.workbook(org, period_key)
    audit.record("data.exported", actor=current_user, target=f"study-hours:{period_key}", organisation_id=org.id,
                 detail={"format": "xlsx"})
    db.session.commit()
    return book.response(study_report.filename(org, period_key))


@bp.route("/admin/study/remind", methods=["POST"])
@admin_required(Permission.MANAGE_MEMBERS)
def nudge_behind():
    """The home page's one-click reminder to the members one manages who are behind this quarter."""
    from learning.courses import reminders
    from learning.web import ConfirmForm

    ConfirmForm().validate_on_submit() or abort(400)
    sent = reminders.nudge(current_user)
    db.session.commit()
    if sent:
        flash(_("%(n)d members behind on their hours were reminded.", n=sent), "success")
    else:
        flash(_("Everyone behind was reminded today already."), "info")
    return redirect(url_for("site.home"))
