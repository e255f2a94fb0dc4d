"""Races an attacker provokes: concurrent starts against the attempts-a-day limit, and an answer
racing the submit.  Threads against the real database, on SQLite and PostgreSQL."""
import threading

import pytest
import sqlalchemy as sa

from learning.accounts.models import Account
from learning.accounts.services import issue_token, token_digest
from learning.extensions import db as _db
from learning.orgs.models import Member
from learning.quizzes import answer_sql, attempts, challenges, grading
from learning.quizzes.attempts import QuizError
from learning.quizzes.models import Attempt, AttemptCounter, AttemptStatus, Challenge
from tests.conftest import at_once
from tests.quizzes.conftest import answer_all, make_campaign, member


def test_concurrent_starts_cannot_pass_the_attempts_a_day_limit(app, db, tree, banks, clock):
    campaign = make_campaign(db, tree, attempts_per_day=2)
    me = member(db, tree)
    first, _ = challenges.start_level(me, campaign.levels[0])
    answer_all(me, first)
    assert attempts.submit(me, first.token).passed
    db.session.commit()
    ids = {"member": me.id, "challenge": campaign.id}
    outcomes, lock = [], threading.Lock()

    def start(position):
        def run():
            with app.app_context():
                try:
                    challenge = _db.session.get(Challenge, ids["challenge"])
                    attempt, created = challenges.start_level(_db.session.get(Member, ids["member"]),
                                                              challenge.levels[position])
                    _db.session.commit()
                    result = ("created" if created else "resumed", attempt.id)
                except QuizError as exc:
                    _db.session.rollback()
                    result = (exc.code, None)
                finally:
                    _db.session.remove()
                with lock:
                    outcomes.append(result)
        return run

    at_once([start(0), start(1)] * 4)  # the passed level and the next one, four times each
    assert len(outcomes) == 8
    created = {attempt_id for outcome, attempt_id in outcomes if outcome == "created"}
    assert len(created) == 1
    assert {o for o, _ in outcomes} <= {"created", "resumed", "daily_limit"}
    today = db.session.scalar(sa.select(sa.func.count()).select_from(Attempt).where(Attempt.member_id == me.id))
    assert today == 2  # the limit, not 1 + 2 quizzes' worth
    assert db.session.scalar(sa.select(AttemptCounter.used)) == 2


@pytest.mark.parametrize("mode", ["in-a-transaction", "autocommit", "one-statement"])
def test_an_answer_racing_the_submit_is_graded_as_stored(app, db, tree, banks, clock, mode):
    """Answers in a transaction (the pages) and, on PostgreSQL, each its own statement in autocommit
    (the API's checked way) or the API's one statement (``answer_sql``): the hold on the attempt orders
    each answer before or after the grading."""
    autocommit = mode != "in-a-transaction"
    if autocommit and db.engine.dialect.name != "postgresql":
        pytest.skip("the API's autocommit is PostgreSQL's")
    campaign = make_campaign(db, tree, attempts_per_day=50)
    me = member(db, tree)
    account = db.session.scalar(sa.select(Account).where(Account.member_id == me.id))
    ids = {"member": me.id, "digest": token_digest(issue_token(account).token)}
    for _round in range(6):
        attempt, _ = challenges.start_level(me, campaign.levels[0])
        db.session.commit()
        token = attempt.token
        choice_item = next(i for i in attempt.items if i.option_order)
        letters = attempts.LETTERS[:len(choice_item.option_order)]
        position = choice_item.position
        go = threading.Barrier(2)

        def keep_answering():
            with app.app_context():
                go.wait()
                for n in range(40):
                    if autocommit:
                        _db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                    try:
                        if mode == "one-statement":
                            if answer_sql.answer(ids["digest"], token, position,
                                                 choices=[letters[n % len(letters)]]) is None:
                                raise QuizError("finished", "declined: the attempt is finished")
                        else:
                            attempts.answer(ids["member"], token, position, choices=[letters[n % len(letters)]])
                        _db.session.commit()
                    except QuizError:
                        _db.session.rollback()
                        break
                _db.session.remove()

        def submit():
            with app.app_context():
                go.wait()
                attempts.submit(_db.session.get(Member, ids["member"]), token)
                _db.session.commit()
                _db.session.remove()

        at_once([keep_answering, submit])
        db.session.expire_all()
        graded = db.session.scalar(sa.select(Attempt).where(Attempt.token == token))
        assert graded.status is AttemptStatus.SUBMITTED
        for item in graded.items:
            expected = grading.score(item.question.kind, item.question.answers, item.response) if item.response else 0.0
            assert item.score == expected, (item.position, item.response, item.score)
