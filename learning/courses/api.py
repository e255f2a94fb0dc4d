"""Courses JSON API: catalogue, course detail, study sessions and heartbeats, my hours."""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from flask_babel import gettext as _

from learning.api import auth_required, caller_member, check_member_token, member_token_required, not_a_member
from learning.api.problems import coded_problem, problem
from learning.courses import beat_sql, services, study
from learning.courses.models import Lesson
from learning.courses.rendering import media_url, render_markdown
from learning.courses.schemas import (
    BeatResultSchema,
    CatalogueArgsSchema,
    CatalogueSchema,
    CourseDetailSchema,
    HeartbeatSchema,
    HoursArgsSchema,
    HoursSchema,
    SessionSchema,
)
from learning.extensions import db

blp = Blueprint("courses_api", __name__, url_prefix="/api/v1", description="Courses, study sessions and credit hours")

# How each refusal of a heartbeat is answered; the body's "code" says which one it was.
STUDY_STATUS = {"unknown_session": 404, "unavailable": 404, "paused": 409, "replayed": 409, "too_fast": 429, "busy": 409}


def study_problem(exc: study.StudyError):
    """problem+json with a machine-readable ``code`` (the page's script resumes on "paused")."""
    return coded_problem(exc.code, str(exc), STUDY_STATUS)


def lesson_dict(lesson: Lesson, progress) -> dict:
    return {
        "id": lesson.id, "title": lesson.title, "kind": lesson.kind.value, "min_seconds": lesson.min_seconds,
        "media_url": media_url(lesson), "media_seconds": lesson.media_seconds,
        "studied_seconds": progress.seconds if progress else 0,
        "completed": bool(progress and progress.completed_at), "retired": lesson.retired_at is not None,
    }


def summary_dict(item: dict) -> dict:
    course = item["course"]
    return {"id": course.id, "slug": course.slug, "title": course.title, "summary": course.summary,
            "category": course.category, "tags": course.tags or [], "credit_hours": course.credit_hours,
            "required": item["required"], "state": item["state"]}


@blp.route("/courses", methods=["GET"])
@auth_required(blp)
@blp.arguments(CatalogueArgsSchema, location="query")
@blp.response(200, CatalogueSchema)
def catalogue(args):
    """Published courses for the caller, with filters: required, elective, in_progress, done."""
    member, error = caller_member()
    if error:
        return error
    return {"items": [summary_dict(item) for item in services.catalogue(member, **args)]}


@blp.route("/courses/<int:course_id>", methods=["GET"])
@auth_required(blp)
@blp.response(200, CourseDetailSchema)
@blp.alt_response(404, description="No such published course")
def course_detail(course_id):
    """A course with its lessons and the caller's progress on each."""
    member, error = caller_member()
    if error:
        return error
    found = services.catalogue(member, course_id=course_id)
    if not found:
        return problem(404, detail=_("No such course."))
    course = found[0]["course"]
    progress = services.course_progress(member, course)
    completion = services.completion_of(member, course)
    return {**summary_dict(found[0]), "lessons": [lesson_dict(l, progress.get(l.id)) for l in course.live_lessons],
            "completed_at": completion.completed_at if completion else None}


@blp.route("/lessons/<int:lesson_id>/sessions", methods=["POST"])
@auth_required(blp)
@blp.response(201, SessionSchema)
@blp.alt_response(404, description="No such lesson")
def start(lesson_id):
    """Open a lesson: starts a study session and pauses the caller's other one (another tab or device)."""
    member, error = caller_member()
    if error:
        return error
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        return problem(404, detail=_("No such lesson."))
    try:
        session = study.start_session(member, lesson)
    except study.StudyError as exc:
        return study_problem(exc)
    progress = services.course_progress(member, lesson.course).get(lesson.id)
    return {"token": session.token, "heartbeat_seconds": study.HEARTBEAT_SECONDS,
            "lesson": lesson_dict(lesson, progress), "body_html": render_markdown(lesson.body)}, 201


@blp.route("/study-sessions/<token>/heartbeats", methods=["POST"])
@member_token_required(blp, joined=study.BEAT_WITH_TOKEN, params=lambda kwargs: {"session_token": kwargs["token"]},
                       one_statement=True)
@blp.arguments(HeartbeatSchema())  # an instance: webargs makes a class anew for each request
@blp.response(200, BeatResultSchema)
@blp.alt_response(404, description="No such session of yours")
@blp.alt_response(409, description="The session was paused by another lesson or device, or the beat was replayed")
@blp.alt_response(429, description="Heartbeats came faster than the page sends them")
def beat(payload, token):
    """Send every `heartbeat_seconds` while the lesson is visible (and media plays). The server credits
    the time between accepted beats by its own clock; nothing the client says about durations counts."""
    if g.api_token_digest is not None:  # the common beat in one statement (beat_sql), else the checked way
        result = beat_sql.heartbeat(g.api_token_digest, token, **payload)
        if result is not None:
            return result
    denied = check_member_token()
    if denied is not None:
        return denied
    if g.api_member_id is None:
        return not_a_member()
    try:
        result = study.heartbeat(g.api_member_id, token, state=g.api_row, **payload)
    except study.StudyError as exc:
        return study_problem(exc)
    return result


@blp.route("/me/hours", methods=["GET"])
@auth_required(blp)
@blp.arguments(HoursArgsSchema, location="query")
@blp.response(200, HoursSchema)
def my_hours(args):
    """The caller's credit hours in a period (default: their quota's current quarter or year)."""
    member, error = caller_member()
    if error:
        return error
    progress = services.hours_against_quota(member, args.get("period"))
    quota, hours = progress.quota, progress.hours
    return {"period": progress.period_key, "required": hours.required, "elective": hours.elective,
            "quota_required": quota.required, "quota_elective": quota.elective, "quota_period": quota.period_kind}
