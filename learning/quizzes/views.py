"""Quiz pages for members: the overview, taking an attempt (answers saved as they are given,
a countdown kept by the server), the review, and challenge campaigns with live leaderboards."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from learning.extensions import db
from learning.orgs.models import Member
from learning.quizzes import attempts, boards, challenges, services
from learning.quizzes.api import quiz_problem
from learning.quizzes.attempts import QuizError
from learning.quizzes.models import AttemptStatus, ChallengeLevel, ChallengeStatus, QuestionKind
from learning.replica import reads_from_replica

bp = Blueprint("quizzes", __name__)


def _member_or_404() -> Member:
    member = current_user.member
    if member is None:
        abort(404)
    return member


@bp.route("/quizzes/")
@login_required
def hub():
    member = _member_or_404()
    attempts.expire_mine(member)
    db.session.commit()
    return render_template("quizzes/hub.html", daily=services.daily_status(member),
                           course_quizzes=services.course_quizzes(member), campaigns=services.my_challenges(member),
                           recent=services.recent_attempts(member))


def _started(attempt, created: bool):
    db.session.commit()
    if not created:
        flash(_("You have an attempt in progress: carry on where you left off."), "info")
    return redirect(url_for("quizzes.attempt_page", token=attempt.token))


@bp.route("/quizzes/<slug>/start", methods=["POST"])
@login_required
def start_quiz(slug: str):
    member = _member_or_404()
    quiz = services.quiz_by_slug(slug) or abort(404)
    try:
        attempt, created = services.start_quiz(member, quiz)
    except QuizError as exc:
        db.session.rollback()
        if exc.code == "not_found":
            abort(404)
        flash(str(exc), "error")
        return redirect(request.referrer or url_for("quizzes.hub"))
    return _started(attempt, created)


@bp.route("/challenges/<int:challenge_id>/levels/<int:position>/start", methods=["POST"])
@login_required
def start_level(challenge_id: int, position: int):
    member = _member_or_404()
    level = db.session.query(ChallengeLevel).filter_by(challenge_id=challenge_id, position=position).one_or_none()
    if level is None or not challenges.may_play(member, level.challenge) or level.challenge.status is ChallengeStatus.DRAFT:
        abort(404)
    try:
        attempt, created = challenges.start_level(member, level)
    except QuizError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("quizzes.challenge_page", challenge_id=challenge_id))
    return _started(attempt, created)


def _attempt_or_404(token: str):
    try:
        return attempts.attempt_for(_member_or_404(), token)
    except QuizError:
        abort(404)


@bp.route("/quizzes/attempts/<token>")
@login_required
def attempt_page(token: str):
    attempt = _attempt_or_404(token)
    if attempt.status is AttemptStatus.OPEN and attempts.remaining_seconds(attempt) <= 0:
        attempts.expire_mine(attempt.member)
        db.session.commit()
    if attempt.status is not AttemptStatus.OPEN:
        return redirect(url_for("quizzes.review_page", token=token))
    return render_template("quizzes/attempt.html", view=attempts.attempt_view(attempt), attempt=attempt,
                           back=_back_url(attempt))


def _back_url(attempt) -> str:
    if attempt.level is not None:
        return url_for("quizzes.challenge_page", challenge_id=attempt.level.challenge_id)
    return url_for("quizzes.hub")


@bp.route("/quizzes/attempts/<token>/items/<int:position>", methods=["PUT"])
@login_required
def put_answer(token: str, position: int):
    """Called by the attempt page's script for each answer (CSRF header); the API's service."""
    member = _member_or_404()
    data = request.get_json(silent=True) or {}
    try:
        answered_at = attempts.answer(member.id, token, position, choices=data.get("choices"), text=data.get("text"))
    except QuizError as exc:
        db.session.rollback()
        return quiz_problem(exc)
    db.session.commit()
    return jsonify(position=position, answered_at=answered_at.isoformat())


@bp.route("/quizzes/attempts/<token>/submit", methods=["POST"])
@login_required
def submit(token: str):
    """The form's submit: records what the form carries that the script has not saved, then grades."""
    member = _member_or_404()
    attempt = _attempt_or_404(token)
    if attempt.status is AttemptStatus.OPEN:
        for item in attempt.items:
            if item.question.kind is QuestionKind.FILL_BLANK:
                text = request.form.get(f"q{item.position}", "").strip()
                payload = {"text": text} if text else None
            else:
                chosen = request.form.getlist(f"q{item.position}")
                payload = {"choices": chosen} if chosen else None
            if payload is None:
                continue
            try:
                attempts.answer(member.id, token, item.position, **payload)
            except QuizError as exc:
                if exc.code in ("time_up", "finished"):
                    break
                db.session.rollback()
                flash(_("Question %(n)d: %(problem)s", n=item.position, problem=exc), "error")
                return redirect(url_for("quizzes.attempt_page", token=token))
    attempts.submit(member, token)
    db.session.commit()
    return redirect(url_for("quizzes.review_page", token=token))


@bp.route("/quizzes/attempts/<token>/review")
@login_required
def review_page(token: str):
    attempt = _attempt_or_404(token)
    try:
        view = attempts.review_view(attempt)
    except QuizError:
        return redirect(url_for("quizzes.attempt_page", token=token))
    return render_template("quizzes/review.html", view=view, attempt=attempt, back=_back_url(attempt))


def _challenge_for_member(challenge_id: int):
    member = _member_or_404()
    challenge = services.challenge_or_none(challenge_id)
    if challenge is None or challenge.status is ChallengeStatus.DRAFT or not challenges.may_play(member, challenge):
        abort(404)
    return member, challenge


@bp.route("/challenges/<int:challenge_id>")
@login_required
def challenge_page(challenge_id: int):
    member, challenge = _challenge_for_member(challenge_id)
    attempts.expire_mine(member)
    db.session.commit()
    used = challenges.attempts_today(member, challenge)
    board = _board(challenge, boards.current(challenge), member)
    return render_template("quizzes/challenge.html", challenge=challenge, states=challenges.level_states(member, challenge),
                           is_open=challenges.is_open(challenge), left=max(0, challenge.attempts_per_day - used),
                           me=boards.member_rank(challenge, member), **board)


def _board(challenge, meta: dict, member) -> dict:
    """The first 20 members and branches, and the member's own branch below them when it is not
    among the first (``mine``)."""
    branches = boards.branch_page(challenge, meta)
    mine = boards.branch_of(challenge, meta, member)
    if mine is not None and all(b["organisation_id"] != mine["organisation_id"] for b in branches):
        branches = branches + [dict(mine, mine=True)]
    return {"members": meta["members"], "branches": branches, "branch_count": meta["branches"]}


@bp.route("/challenges/<int:challenge_id>/board.json")
@login_required
@reads_from_replica
def board_json(challenge_id: int):
    """What the campaign page polls to keep its leaderboards live: shared, cached builds (quizzes.boards);
    a poll between two level results is answered 304 Not Modified."""
    member, challenge = _challenge_for_member(challenge_id)
    meta = boards.current(challenge)
    tag = boards.etag(challenge, meta, member)
    if tag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = jsonify(me=boards.member_rank(challenge, member), **_board(challenge, meta, member))
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response
