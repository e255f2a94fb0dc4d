"""The course editor: courses and lessons (Markdown with preview, media upload), publishing,
required courses for a subtree and period, and study quotas."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from learning.web import ConfirmForm
from learning.courses import editing, services
from learning.courses.forms import AssignmentForm, CourseForm, LessonForm
from learning.courses.models import Course, CourseAssignment, Lesson
from learning.courses.rendering import render_markdown
from learning.extensions import db
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, org_or_404, scope_for
from learning.web import admin_required

bp = Blueprint("course_admin", __name__, url_prefix="/admin/courses")


def _course_or_404(course_id: int) -> Course:
    return db.session.get(Course, course_id) or abort(404)


def _assignable_orgs() -> list[Organisation]:
    scope = scope_for(current_user)
    roots = db.session.scalars(scope.roots(Permission.RUN_CAMPAIGNS).order_by(Organisation.path)).all()
    found = []
    for root in roots:
        found.append(root)
        found.extend(services.child_orgs(root))
    return list({o.id: o for o in found}.values())


@bp.route("/")
@admin_required(Permission.RUN_CAMPAIGNS)
def courses():
    rows = db.session.scalars(select(Course).order_by(Course.id)).all()
    scope = scope_for(current_user)
    assignments = [a for a in db.session.scalars(select(CourseAssignment).order_by(CourseAssignment.period_key.desc()))
                   if scope.can_org(Permission.RUN_CAMPAIGNS, a.organisation)]
    form = AssignmentForm()
    form.organisation.choices = [SelectChoice(o.id, o.name) for o in _assignable_orgs()]
    return render_template("courses/admin_courses.html", courses=rows, assignments=assignments, form=form,
                           confirm=ConfirmForm(), can_edit=scope.has_any(Permission.MANAGE_SYSTEM))


@bp.route("/new", methods=["GET", "POST"])
@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def edit_course(course_id: int | None = None):
    course = _course_or_404(course_id) if course_id else None
    form = CourseForm(obj=course)
    if request.method == "GET" and course is not None:
        form.tags.data = "，".join(course.tags or [])
        form.credit_kind.data = course.credit_kind.value
    if form.validate_on_submit():
        try:
            course = editing.save_course(course, title=form.title.data, summary=form.summary.data,
                                         category=form.category.data, tags=form.tags.data,
                                         credit_hours=form.credit_hours.data, credit_kind=form.credit_kind.data,
                                         published=form.published.data)
        except services.CourseError as exc:
            db.session.rollback()
            form.published.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Course saved."), "success")
            return redirect(url_for("course_admin.edit_course", course_id=course.id))
    return render_template("courses/admin_course_edit.html", form=form, course=course, confirm=ConfirmForm())


@bp.route("/<int:course_id>/publish", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def publish(course_id: int):
    ConfirmForm().validate_on_submit() or abort(400)
    course = _course_or_404(course_id)
    try:
        editing.set_published(course, request.form.get("published") == "1")
    except services.CourseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Published.") if course.published else _("Unpublished: members no longer see it."), "success")
    return redirect(request.referrer or url_for("course_admin.courses"))


@bp.route("/<int:course_id>/lessons/new", methods=["GET", "POST"])
@bp.route("/<int:course_id>/lessons/<int:lesson_id>", methods=["GET", "POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def edit_lesson(course_id: int, lesson_id: int | None = None):
    course = _course_or_404(course_id)
    lesson = db.session.get(Lesson, lesson_id) if lesson_id else None
    if lesson_id and (lesson is None or lesson.course_id != course.id):
        abort(404)
    form = LessonForm(obj=lesson)
    if request.method == "GET" and lesson is not None:
        form.kind.data = lesson.kind.value
        form.min_minutes.data = round(lesson.min_seconds / 60, 1)
        if lesson.external_media:
            form.media_url.data = lesson.media
    preview = None
    if request.method == "POST" and "preview" in request.form:
        preview = render_markdown(form.body.data or "")
    elif form.validate_on_submit():
        upload = form.media.data
        try:
            lesson = editing.save_lesson(
                course, lesson, title=form.title.data, kind=form.kind.data, body=form.body.data,
                media_name=upload.filename if upload else None, media_bytes=upload.read() if upload else None,
                media_url=form.media_url.data or None, media_seconds=form.media_seconds.data,
                min_minutes=form.min_minutes.data)
        except services.CourseError as exc:
            db.session.rollback()
            form.media.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Lesson saved."), "success")
            return redirect(url_for("course_admin.edit_course", course_id=course.id))
    return render_template("courses/admin_lesson_edit.html", form=form, course=course, lesson=lesson, preview=preview)


@bp.route("/lessons/<int:lesson_id>/retire", methods=["POST"])
@admin_required(Permission.MANAGE_SYSTEM)
def retire(lesson_id: int):
    ConfirmForm().validate_on_submit() or abort(400)
    lesson = db.session.get(Lesson, lesson_id) or abort(404)
    editing.retire_lesson(lesson)
    db.session.commit()
    flash(_("Lesson retired; progress on it is kept."), "success")
    return redirect(url_for("course_admin.edit_course", course_id=lesson.course_id))


@bp.route("/<int:course_id>/assign", methods=["POST"])
@admin_required(Permission.RUN_CAMPAIGNS)
def assign(course_id: int):
    course = _course_or_404(course_id)
    form = AssignmentForm()
    form.organisation.choices = [SelectChoice(o.id, o.name) for o in _assignable_orgs()]
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("course_admin.courses"))
    org = org_or_404(current_user, form.organisation.data, Permission.RUN_CAMPAIGNS)
    try:
        services.assign_required(course, org, form.period.data.strip(), actor=current_user)
    except services.CourseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("%(course)s is now required for %(org)s in %(period)s.", course=course.title, org=org.name,
                period=form.period.data), "success")
    return redirect(url_for("course_admin.courses"))
