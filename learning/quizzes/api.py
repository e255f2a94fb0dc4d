"""Quizzes JSON API: the caller's quizzes and campaigns, attempts (start, answer, submit, review)
and campaign leaderboards.

The answer path (``PUT /attempts/{token}/items/{position}``) is the hot one: a campaign month can
bring millions of answers, so it is a single joined read and one update (see bench/answers.py).
"""
from __future__ import annotations

from flask import g
from flask_smorest import Blueprint

from learning.api import auth_required, caller_member, check_member_token, member_token_required, not_a_member
from learning.api.problems import coded_problem
from learning.extensions import db
from learning.quizzes import answer_sql, attempts, boards, challenges, services
from learning.quizzes.attempts import QuizError
from learning.quizzes.models import ChallengeLevel
from learning.replica import reads_from_replica
from learning.quizzes.schemas import (
    AnswerResultSchema,
    AnswerSchema,
    AttemptSchema,
    BoardArgsSchema,
    BoardSchema,
    ChallengeSchema,
    QuizListSchema,
    ReviewSchema,
)

blp = Blueprint("quizzes_api", __name__, url_prefix="/api/v1", description="Quizzes, attempts and challenge campaigns")

QUIZ_STATUS = {
    "unknown_attempt": 404, "unknown_item": 404, "not_found": 404, "not_yours": 404,
    "finished": 409, "time_up": 409, "not_finished": 409, "locked": 409, "closed": 409,
    "no_attempts_left": 429, "daily_limit": 429, "no_questions": 409, "inactive": 403, "bad_answer": 422,
}


def quiz_problem(exc: QuizError):
    return coded_problem(exc.code, str(exc), QUIZ_STATUS)


def _quiz_summary(quiz, **extra) -> dict:
    return {"slug": quiz.slug, "title": quiz.title, "kind": quiz.kind.value, "question_count": quiz.question_count,
            "time_limit_seconds": quiz.time_limit_seconds, "pass_percent": quiz.pass_percent, **extra}


def challenge_dict(member, challenge, *, detail: bool = False, states: list[dict] | None = None) -> dict:
    states = challenges.level_states(member, challenge) if states is None else states
    data = {"id": challenge.id, "title": challenge.title, "organisation": challenge.organisation.name,
            "starts_at": challenge.starts_at, "ends_at": challenge.ends_at, "open": challenges.is_open(challenge),
            "levels_passed": sum(1 for s in states if s["state"] == "passed"), "level_count": len(states)}
    if detail:
        data.update(description=challenge.description, attempts_per_day=challenge.attempts_per_day,
                    attempts_left_today=max(0, challenge.attempts_per_day - challenges.attempts_today(member, challenge)),
                    levels=[{"position": s["level"].position, "title": s["level"].title,
                             "question_count": s["level"].quiz.question_count, "pass_percent": s["level"].quiz.pass_percent,
                             "time_limit_seconds": s["level"].quiz.time_limit_seconds, "points": s["level"].points,
                             "state": s["state"], "best_score": s["best_score"]} for s in states])
    return data


@blp.route("/quizzes", methods=["GET"])
@auth_required(blp)
@blp.response(200, QuizListSchema)
def list_quizzes():
    """The daily quiz, the caller's course quizzes and the campaigns open to the caller."""
    member, error = caller_member()
    if error:
        return error
    attempts.expire_mine(member)
    db.session.commit()
    quizzes = []
    daily = services.daily_status(member)
    if daily["quiz"] is not None:
        counted = daily["counted"]
        quizzes.append(_quiz_summary(daily["quiz"], course_id=None, unlocked=True, attempts_left=None,
                                     open_attempt=daily["open"].token if daily["open"] else None,
                                     counted_score=counted.score if counted else None,
                                     passed=counted.passed if counted else None))
    for row in services.course_quizzes(member):
        counted = row["counted"]
        quizzes.append(_quiz_summary(row["quiz"], course_id=row["course"].id, unlocked=row["unlocked"],
                                     attempts_left=row["left"], open_attempt=row["open"].token if row["open"] else None,
                                     counted_score=counted.score if counted else None,
                                     passed=counted.passed if counted else None))
    campaigns = [challenge_dict(member, row["challenge"], states=row["states"]) for row in services.my_challenges(member)]
    return {"quizzes": quizzes, "challenges": campaigns}


@blp.route("/quizzes/<slug>/attempts", methods=["POST"])
@auth_required(blp)
@blp.response(201, AttemptSchema)
@blp.alt_response(200, schema=AttemptSchema, description="The caller's attempt in progress, resumed")
@blp.alt_response(404, description="No such quiz")
@blp.alt_response(409, description="Locked (course lessons not finished) or no questions")
@blp.alt_response(429, description="No attempts left")
def start_quiz(slug):
    """Start the daily quiz or a course quiz (or resume the one in progress)."""
    member, error = caller_member()
    if error:
        return error
    quiz = services.quiz_by_slug(slug)
    if quiz is None:
        return quiz_problem(QuizError("not_found", "No such quiz."))
    try:
        attempt, created = services.start_quiz(member, quiz)
    except QuizError as exc:
        db.session.rollback()
        return quiz_problem(exc)
    db.session.commit()
    return attempts.attempt_view(attempt), 201 if created else 200


@blp.route("/challenges/<int:challenge_id>", methods=["GET"])
@auth_required(blp)
@blp.response(200, ChallengeSchema)
@blp.alt_response(404, description="No such campaign for the caller")
def challenge_detail(challenge_id):
    """A campaign with its levels and the caller's state on each."""
    member, error = caller_member()
    if error:
        return error
    challenge = services.challenge_or_none(challenge_id)
    if challenge is None or not challenges.may_play(member, challenge) or challenge.status.value == "draft":
        return quiz_problem(QuizError("not_found", "No such campaign."))
    return challenge_dict(member, challenge, detail=True)


@blp.route("/challenges/<int:challenge_id>/levels/<int:position>/attempts", methods=["POST"])
@auth_required(blp)
@blp.response(201, AttemptSchema)
@blp.alt_response(200, schema=AttemptSchema, description="The caller's attempt at this level in progress, resumed")
@blp.alt_response(404, description="No such campaign or level for the caller")
@blp.alt_response(409, description="The campaign is closed, or an earlier level is not passed")
@blp.alt_response(429, description="Today's attempts are used up")
def start_level(challenge_id, position):
    """Start a level.  Levels are played in order; each day allows the campaign's number of attempts."""
    member, error = caller_member()
    if error:
        return error
    level = db.session.query(ChallengeLevel).filter_by(challenge_id=challenge_id, position=position).one_or_none()
    if level is None or not challenges.may_play(member, level.challenge) or level.challenge.status.value == "draft":
        return quiz_problem(QuizError("not_found", "No such level."))
    try:
        attempt, created = challenges.start_level(member, level)
    except QuizError as exc:
        db.session.rollback()
        return quiz_problem(exc)
    db.session.commit()
    return attempts.attempt_view(attempt), 201 if created else 200


@blp.route("/attempts/<token>", methods=["GET"])
@auth_required(blp)
@blp.response(200, AttemptSchema)
@blp.alt_response(404, description="No such attempt of the caller's")
def get_attempt(token):
    """The attempt as the caller may see it while it runs (no answers, no explanations)."""
    member, error = caller_member()
    if error:
        return error
    try:
        attempt = attempts.attempt_for(member, token)
    except QuizError as exc:
        return quiz_problem(exc)
    return attempts.attempt_view(attempt)


@blp.route("/attempts/<token>/items/<int:position>", methods=["PUT"])
@member_token_required(blp, joined=attempts.ANSWER_WITH_TOKEN,
                       params=lambda kwargs: {"attempt_token": kwargs["token"], "position": kwargs["position"]},
                       one_statement=True)
@blp.arguments(AnswerSchema())  # an instance: webargs makes a class anew for each request
@blp.response(200, AnswerResultSchema)
@blp.alt_response(404, description="No such attempt or question")
@blp.alt_response(409, description="The attempt is finished or its time is up (the answer does not count)")
@blp.alt_response(422, description="Not an answer to this question")
def put_answer(payload, token, position):
    """Record the answer to one question; it may be changed until the attempt is submitted.
    Answers are stored as they come, so a dropped connection loses nothing."""
    if g.api_token_digest is not None:  # the common answer in one statement (answer_sql), else the checked way
        answered_at = answer_sql.answer(g.api_token_digest, token, position, choices=payload.get("choices"),
                                        text=payload.get("text"))
        if answered_at is not None:
            return {"position": position, "answered_at": answered_at}
    denied = check_member_token()
    if denied is not None:
        return denied
    member_id = g.api_member_id
    if member_id is None:
        return not_a_member()
    try:
        answered_at = attempts.answer(member_id, token, position, choices=payload.get("choices"),
                                      text=payload.get("text"), state=g.api_row)
    except QuizError as exc:
        db.session.rollback()
        return quiz_problem(exc)
    db.session.commit()
    return {"position": position, "answered_at": answered_at}


@blp.route("/attempts/<token>/submit", methods=["POST"])
@auth_required(blp)
@blp.response(200, ReviewSchema)
@blp.alt_response(404, description="No such attempt of the caller's")
def submit(token):
    """Finish and grade.  Submitting again returns the same grade; nothing is awarded twice."""
    member, error = caller_member()
    if error:
        return error
    try:
        attempt = attempts.submit(member, token)
    except QuizError as exc:
        db.session.rollback()
        return quiz_problem(exc)
    db.session.commit()
    return attempts.review_view(attempt)


@blp.route("/attempts/<token>/review", methods=["GET"])
@auth_required(blp)
@blp.response(200, ReviewSchema)
@blp.alt_response(404, description="No such attempt of the caller's")
@blp.alt_response(409, description="Not finished yet")
def review(token):
    """After submission: the grade, the right answers and the explanations."""
    member, error = caller_member()
    if error:
        return error
    try:
        attempt = attempts.attempt_for(member, token)
        attempts.expire_mine(member)
        db.session.commit()
        return attempts.review_view(attempt)
    except QuizError as exc:
        return quiz_problem(exc)


@blp.route("/challenges/<int:challenge_id>/leaderboard", methods=["GET"])
@auth_required(blp)
@blp.arguments(BoardArgsSchema, location="query")
@blp.response(200, BoardSchema)
@blp.alt_response(404, description="No such campaign for the caller")
@reads_from_replica
def leaderboard(args, challenge_id):
    """Members (levels passed, then score, then time) or branches (participation, average score,
    levels per member), live while the campaign runs; 20 rows a page, and the caller's own rank."""
    member, error = caller_member()
    if error:
        return error
    challenge = services.challenge_or_none(challenge_id)
    if challenge is None or not challenges.may_play(member, challenge):
        return quiz_problem(QuizError("not_found", "No such campaign."))
    page = args["page"]
    body = {"board": args["board"], "page": page, "members": [], "branches": [],
            "me": boards.member_rank(challenge, member)}
    if args["board"] == "members":
        body["members"] = boards.member_board(challenge, limit=20, offset=(page - 1) * 20)
    else:
        body["branches"] = boards.branch_page(challenge, boards.current(challenge), args["sort"], page)
    return body
