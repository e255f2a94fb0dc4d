"""Effective study time: the known attacks earn nothing extra, honest study completes courses."""
import pytest
from sqlalchemy import func, select

from learning.courses import study
from learning.courses.models import Course, CourseCompletion, Lesson, LessonProgress
from learning.orgs.models import Member
from learning.points import services as points
from tests.conftest import at_once

BEAT = study.HEARTBEAT_SECONDS


def lesson(db, course_slug, slug):
    return db.session.scalar(select(Lesson).join(Course).where(Course.slug == course_slug, Lesson.slug == slug))


def member(db, tree, key="b1_member"):
    return db.session.get(Member, tree["members"][key])


def seconds(db, who, which):
    return db.session.scalar(select(LessonProgress.seconds).where(LessonProgress.member_id == who.id,
                                                                 LessonProgress.lesson_id == which.id)) or 0


def study_honestly(who, which, clock, beats, *, start_seq=1, **kwargs):
    session = study.start_session(who, which)
    for seq in range(start_seq, start_seq + beats):
        clock.advance(BEAT)
        study.heartbeat(who, session.token, seq=seq, **kwargs)
    return session


def test_honest_reading_is_credited_by_the_servers_clock(db, tree, courses, clock):
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    study_honestly(who, text, clock, 6)
    assert seconds(db, who, text) == 6 * BEAT


def test_fractions_of_a_second_are_carried_not_lost(db, tree, courses, clock):
    """Beats never arrive on whole seconds; ten beats of 14.9 s are 149 s of reading, not 140."""
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    session = study.start_session(who, text)
    credited = []
    for seq in range(1, 11):
        clock.advance(14.9)
        credited.append(study.heartbeat(who, session.token, seq=seq).credited)
    assert seconds(db, who, text) == 149 == sum(credited)
    assert set(credited) == {14, 15}  # each beat credits whole seconds, never more than the time that passed


def test_media_carries_fractions_too_and_still_never_outruns_the_recording(db, tree, courses, clock, monkeypatch):
    monkeypatch.setattr(study, "MIN_GAP_SECONDS", 1)
    who, audio = member(db, tree), lesson(db, "party-constitution", "03-oath")  # the 12 s oath recording
    session = study.start_session(who, audio)
    position = 0.0
    for seq in range(1, 7):  # played through in beats of 1.99 s: truncating each would credit 6 s
        clock.advance(1.99)
        position = min(position + 1.99, audio.media_seconds)
        study.heartbeat(who, session.token, seq=seq, playing=True, position=position)
    progress = db.session.scalar(select(LessonProgress).where(LessonProgress.lesson_id == audio.id))
    assert progress.seconds == 11 and progress.reached_end and progress.completed_at is not None


def test_heartbeats_faster_than_real_time_earn_nothing(db, tree, courses, clock):
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    session = study.start_session(who, text)
    refused = 0
    for seq in range(1, 101):  # 100 beats in 100 seconds of real time
        clock.advance(1)
        try:
            study.heartbeat(who, session.token, seq=seq)
        except study.StudyError as exc:
            assert exc.code == "too_fast"
            refused += 1
    # Only the beats at least MIN_GAP apart were accepted; together never more than the 100 s that passed.
    assert seconds(db, who, text) <= 100
    assert refused >= 85


def test_a_replayed_or_reordered_heartbeat_is_refused(db, tree, courses, clock):
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    session = study_honestly(who, text, clock, 2)
    clock.advance(BEAT)
    for seq in (2, 1, 0, -5):
        with pytest.raises(study.StudyError) as refused:
            study.heartbeat(who, session.token, seq=seq)
        assert refused.value.code == "replayed"
    assert seconds(db, who, text) == 2 * BEAT


def test_a_forged_or_someone_elses_session_is_unknown(db, tree, courses, clock):
    who, other = member(db, tree), member(db, tree, "b2_member")
    text = lesson(db, "party-discipline", "01-six-disciplines")
    session = study.start_session(who, text)
    clock.advance(BEAT)
    for token, person in (("forged-token", who), (session.token, other)):
        with pytest.raises(study.StudyError) as refused:
            study.heartbeat(person, token, seq=1)
        assert refused.value.code == "unknown_session"
    assert seconds(db, other, text) == 0


def test_two_lessons_or_two_devices_at_once_count_once(db, tree, courses, clock):
    who = member(db, tree)
    first, second = lesson(db, "party-discipline", "01-six-disciplines"), lesson(db, "party-discipline", "02-red-lines")
    phone = study.start_session(who, first)
    laptop = study.start_session(who, second)  # opening another lesson pauses the first
    tablet_same_lesson = None
    for seq in range(1, 5):
        clock.advance(BEAT)
        with pytest.raises(study.StudyError) as paused:
            study.heartbeat(who, phone.token, seq=seq)
        assert paused.value.code == "paused"
        study.heartbeat(who, laptop.token, seq=seq)
    tablet_same_lesson = study.start_session(who, second)  # a second device on the same lesson
    for seq in range(5, 9):
        clock.advance(BEAT)
        with pytest.raises(study.StudyError):
            study.heartbeat(who, laptop.token, seq=seq)
        study.heartbeat(who, tablet_same_lesson.token, seq=seq - 4)
    assert seconds(db, who, first) == 0
    assert seconds(db, who, second) == 8 * BEAT  # 120 s of wall clock, credited once


def test_a_hidden_tab_earns_nothing_and_coming_back_late_earns_nothing_for_the_gap(db, tree, courses, clock):
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    session = study_honestly(who, text, clock, 2)
    for seq in (3, 4, 5):
        clock.advance(BEAT)
        assert study.heartbeat(who, session.token, seq=seq, visible=False).credited == 0
    clock.advance(600)  # the tab sat hidden for ten minutes without beats
    result = study.heartbeat(who, session.token, seq=6)
    assert result.credited == 0 and result.note == "late"
    clock.advance(BEAT)
    study.heartbeat(who, session.token, seq=7)
    assert seconds(db, who, text) == 3 * BEAT


def test_a_client_that_sends_its_own_duration_is_ignored(db, tree, courses, clock, client):
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    session = study.start_session(who, text)
    clock.advance(BEAT)
    with pytest.raises(TypeError):
        study.heartbeat(who, session.token, seq=1, duration=3600)  # the service has no such input
    study.heartbeat(who, session.token, seq=1)
    assert seconds(db, who, text) == BEAT


def test_skipping_media_to_its_end_does_not_complete_it(db, tree, courses, clock):
    who, audio = member(db, tree), lesson(db, "party-constitution", "03-oath")
    audio.media_seconds, audio.min_seconds = 300, 270  # a five-minute recording
    db.session.commit()
    session = study.start_session(who, audio)
    clock.advance(BEAT)
    result = study.heartbeat(who, session.token, seq=1, playing=True, position=audio.media_seconds)  # jumped to the end
    assert not result.lesson_completed
    assert seconds(db, who, audio) <= BEAT  # the wall-clock time that passed, not the five minutes skipped
    for seq in range(2, 12):  # "playing" at the end for minutes: the position no longer moves
        clock.advance(BEAT)
        assert study.heartbeat(who, session.token, seq=seq, playing=True, position=audio.media_seconds).credited == 0
    progress = db.session.scalar(select(LessonProgress).where(LessonProgress.lesson_id == audio.id))
    assert progress.completed_at is None


def test_paused_media_earns_nothing_and_playing_it_through_completes_it(db, tree, courses, clock, monkeypatch):
    monkeypatch.setattr(study, "MIN_GAP_SECONDS", 4)
    who, audio = member(db, tree), lesson(db, "party-constitution", "03-oath")
    session = study.start_session(who, audio)
    clock.advance(6)
    assert study.heartbeat(who, session.token, seq=1, playing=False, position=0).credited == 0
    position = 0
    for seq in range(2, 5):
        clock.advance(4)
        position += 4
        study.heartbeat(who, session.token, seq=seq, playing=True, position=position)
    progress = db.session.scalar(select(LessonProgress).where(LessonProgress.lesson_id == audio.id))
    assert progress.completed_at is not None and progress.reached_end
    assert progress.seconds <= audio.media_seconds * study.MEDIA_MARGIN


def test_racing_duplicate_heartbeats_credit_once(db, tree, courses, clock, app):
    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    session = study.start_session(who, text)
    db.session.commit()
    who_id, token = who.id, session.token  # read here: the threads must not touch this session's objects
    clock.advance(BEAT)
    outcomes = []

    def send():
        with app.app_context():
            try:
                outcomes.append(study.heartbeat(db.session.get(Member, who_id), token, seq=1).credited)
            except study.StudyError as exc:
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    at_once([send] * 8)
    assert outcomes.count(BEAT) == 1, outcomes
    db.session.expire_all()
    assert seconds(db, who, text) == BEAT


def test_finishing_every_lesson_and_the_quiz_completes_the_course_once_with_hours_and_points(db, tree, courses, clock,
                                                                                          time_machine):
    time_machine.move_to(clock.moment)  # the quiz is graded on the server's clock, in 2026Q4
    from learning.quizzes import attempts, services as quizzes
    from learning.quizzes.banks import import_content
    from tests.quizzes.conftest import CONTENT, answer_all

    assert import_content(CONTENT).ok
    who = member(db, tree)
    course = db.session.scalar(select(Course).where(Course.slug == "party-discipline"))
    seq = 1
    for item in course.live_lessons:
        study_honestly(who, item, clock, 9, start_seq=seq)
        seq += 9
    # Every lesson is done, but the course has a quiz (80 to pass): a failed attempt completes nothing.
    assert db.session.scalar(select(CourseCompletion).where(CourseCompletion.member_id == who.id)) is None
    quiz = quizzes.quiz_by_slug(course.quiz_slug)
    attempt, _ = quizzes.start_quiz(who, quiz)
    answer_all(who, attempt, right=False)
    assert not attempts.submit(who, attempt.token).passed
    assert db.session.scalar(select(CourseCompletion).where(CourseCompletion.member_id == who.id)) is None
    attempt, _ = quizzes.start_quiz(who, quiz)
    answer_all(who, attempt, right=True)
    assert attempts.submit(who, attempt.token).passed
    db.session.commit()
    completion = db.session.scalar(select(CourseCompletion).where(CourseCompletion.member_id == who.id))
    assert completion is not None and completion.credit_hours == 1 and completion.quarter_key == "2026Q4"
    assert completion.credit_kind.value == "required"
    # Studying it again completes nothing more.
    study_honestly(who, course.live_lessons[0], clock, 3, start_seq=1)
    assert db.session.scalar(select(func.count()).select_from(CourseCompletion)) == 1
    # 1 point per lesson (2 lessons) + 2 points per credit hour.
    assert points.ledger_sum(who.id, "all") == 2 + 2


def test_a_beat_is_three_statements_and_a_missing_progress_row_is_made_again(db, tree, courses, clock):
    """The hot path: one joined read, the session's compare-and-set and the progress's update (on
    PostgreSQL one statement, a WITH); a hidden beat changes no progress (its time of change stays); a
    progress row gone missing is made."""
    from sqlalchemy import event

    who, text = member(db, tree), lesson(db, "party-discipline", "01-six-disciplines")
    session = study.start_session(who, text)
    member_id, token = who.id, session.token
    statements = []

    def seen(conn, cursor, statement, params, context, executemany):
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        clock.advance(BEAT)
        assert study.heartbeat(member_id, token, seq=1).credited == BEAT
        assert statements == (["SELECT", "WITH"] if db.engine.dialect.name == "postgresql"
                              else ["SELECT", "UPDATE", "UPDATE"])
        changed = db.session.scalar(select(LessonProgress.updated_at).where(LessonProgress.member_id == member_id))
        statements.clear()
        clock.advance(BEAT)
        hidden = study.heartbeat(member_id, token, seq=2, visible=False)
        assert (hidden.credited, hidden.note, statements) == (0, "hidden", ["SELECT", "UPDATE"])
        assert db.session.scalar(select(LessonProgress.updated_at).where(LessonProgress.member_id == member_id)) == changed
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    db.session.execute(LessonProgress.__table__.delete().where(LessonProgress.member_id == member_id))
    db.session.commit()
    clock.advance(BEAT)
    result = study.heartbeat(member_id, token, seq=3)
    assert (result.credited, result.lesson_seconds, seconds(db, who, text)) == (BEAT, BEAT, BEAT)
