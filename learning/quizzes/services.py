"""What the quiz pages and the API call: the member's quiz overview and starting a quiz.

The state-changing work lives in :mod:`attempts` (answering, grading), :mod:`outcomes` (what a
grade leads to), :mod:`challenges` (campaigns) and :mod:`banks` (imports); this module is the
gate in front of them for course and daily quizzes.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from learning.courses import services as courses
from learning.courses.models import Course
from learning.extensions import db
from learning.orgs.models import Member
from learning.points import periods
from learning.quizzes import attempts, banks, challenges, grading
from learning.quizzes.attempts import QuizError
from learning.quizzes.models import Attempt, AttemptStatus, Challenge, Quiz, QuizKind


def quiz_by_slug(slug: str) -> Quiz | None:
    return db.session.scalar(select(Quiz).where(Quiz.slug == slug))


def course_of(quiz: Quiz) -> Course | None:
    return db.session.scalar(select(Course).where(Course.quiz_slug == quiz.slug, Course.published.is_(True)))


def lessons_done(member: Member, course: Course) -> bool:
    progress = courses.course_progress(member, course)
    return all(progress.get(lesson.id) is not None and progress[lesson.id].completed_at is not None
               for lesson in course.live_lessons)


def start_quiz(member: Member, quiz: Quiz) -> tuple[Attempt, bool]:
    """Start (or resume) a course quiz or the daily quiz; levels go through ``challenges.start_level``."""
    if quiz.kind is QuizKind.LEVEL:
        raise QuizError("not_found", _("No such quiz."))

    def gate():
        if quiz.kind is QuizKind.COURSE:
            course = course_of(quiz)
            if course is None:
                raise QuizError("not_found", _("No such quiz."))
            if not lessons_done(member, course):
                raise QuizError("locked", _("Finish the course's lessons before its quiz."))

    return attempts.start(member, quiz, check=gate)


def daily_quiz():
    """The daily quiz, if one is set (for pages that show it to someone who does not take it)."""
    return banks.daily_quiz()


def daily_status(member: Member) -> dict:
    quiz = banks.daily_quiz()
    if quiz is None:
        return {"quiz": None}
    today = periods.local_date(attempts.now())
    first = db.session.scalar(select(Attempt).where(
        Attempt.member_id == member.id, Attempt.quiz_id == quiz.id, Attempt.local_date == today,
        Attempt.status != AttemptStatus.OPEN).order_by(Attempt.finished_at, Attempt.id).limit(1))
    return {"quiz": quiz, "counted": first, "open": attempts.open_attempt(member, quiz)}


def course_quiz(member: Member, course: Course) -> dict | None:
    """The course's quiz with the member's standing on it, or None when the course has none."""
    quiz = quiz_by_slug(course.quiz_slug) if course.quiz_slug else None
    if quiz is None:
        return None
    finished = grading.finished_attempts(member.id, quiz)
    used = len(finished)
    return {"quiz": quiz, "course": course, "unlocked": lessons_done(member, course),
            "counted": grading.counted_attempt(member.id, quiz, finished), "used": used,
            "left": None if quiz.max_attempts is None else max(0, quiz.max_attempts - used),
            "open": attempts.open_attempt(member, quiz)}


def course_quizzes(member: Member) -> list[dict]:
    courses_with_quiz = db.session.scalars(select(Course).where(Course.quiz_slug.is_not(None),
                                                                Course.published.is_(True)).order_by(Course.id))
    return [row for row in (course_quiz(member, course) for course in courses_with_quiz) if row is not None]


def my_challenges(member: Member) -> list[dict]:
    rows = []
    for challenge in challenges.challenges_for(member):
        states = challenges.level_states(member, challenge)
        rows.append({"challenge": challenge, "open": challenges.is_open(challenge), "states": states,
                     "passed": sum(1 for s in states if s["state"] == "passed"), "levels": len(states)})
    return rows


def recent_attempts(member: Member, limit: int = 10) -> list[Attempt]:
    return list(db.session.scalars(select(Attempt).where(Attempt.member_id == member.id,
                                                         Attempt.status != AttemptStatus.OPEN)
                                   .order_by(Attempt.finished_at.desc()).limit(limit)))


def challenge_or_none(challenge_id: int) -> Challenge | None:
    return db.session.get(Challenge, challenge_id)
