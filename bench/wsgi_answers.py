"""The app as gunicorn serves it for bench/answers.py, plus one bare Flask endpoint to compare with.

The bare endpoint lives in the same application (same middleware, same worker), so the ratio of
the two throughputs measures what the answer and heartbeat paths themselves cost.  Heartbeats are
accepted at any pace here (the real minimum gap is 10 seconds per session), so that one session can
be beaten as fast as the benchmark sends; every other check runs as in production.
"""
from flask import jsonify, request
from flask_smorest import Blueprint

from learning import create_app
from learning.accounts.services import token_digest
from learning.courses import study
from learning.courses.schemas import BeatResultSchema, HeartbeatSchema
from learning.extensions import api, csrf, db

study.MIN_GAP_SECONDS = 0
app = create_app()


@app.route("/bench/bare", methods=["PUT", "POST"])
@csrf.exempt
def bare():
    return jsonify(position=1, answered_at="2026-11-21T00:00:00+00:00")


# Floors for a heartbeat (``answers.py --floors``): what the least a beat must write costs here, with
# none of the rules, the validation or the response schema — the token looked up, the session moved
# and the progress counted, in raw SQL: four statements in one transaction; the heartbeat's own two
# round trips (the token with the session's read, then the claim with the progress) in autocommit;
# and one statement (a CTE) in autocommit.  Only the status matters; nothing here is a heartbeat.
@app.route("/bench/floor/<token>", methods=["POST"])
@csrf.exempt
def floor(token):
    connection = db.session.connection()
    member_id = connection.exec_driver_sql(
        "SELECT a.member_id FROM api_token t JOIN account a ON a.id = t.account_id WHERE t.token_hash = %s",
        (token_digest(request.headers["Authorization"][7:]),)).scalar()
    session_id, lesson_id = connection.exec_driver_sql(
        "SELECT id, lesson_id FROM study_session WHERE token = %s AND member_id = %s", (token, member_id)).first()
    connection.exec_driver_sql("UPDATE study_session SET last_seq = last_seq + 1, last_beat_at = now() WHERE id = %s",
                               (session_id,))
    connection.exec_driver_sql("UPDATE lesson_progress SET seconds = seconds + 1 WHERE member_id = %s AND lesson_id = %s",
                               (member_id, lesson_id))
    db.session.commit()
    return jsonify(credited=1)


TWO_READ = (
    "SELECT a.member_id, t.expires_at, t.revoked_at, a.active, s.id, s.last_seq, s.last_beat_at, s.lesson_id,"
    " l.kind, l.min_seconds, p.id, p.seconds FROM api_token t JOIN account a ON a.id = t.account_id"
    " LEFT JOIN study_session s ON s.token = %s AND s.member_id = a.member_id"
    " LEFT JOIN lesson l ON l.id = s.lesson_id"
    " LEFT JOIN lesson_progress p ON p.member_id = s.member_id AND p.lesson_id = s.lesson_id"
    " WHERE t.token_hash = %s")
TWO_WRITE = (
    "WITH s AS (UPDATE study_session SET last_seq = last_seq + 1, last_beat_at = now()"
    "           WHERE id = %s AND last_seq = %s RETURNING id)"
    " UPDATE lesson_progress SET seconds = seconds + 1 WHERE id = %s AND EXISTS (SELECT 1 FROM s) RETURNING seconds")


@app.route("/bench/floor-two/<token>", methods=["POST"])
@csrf.exempt
def floor_two(token):
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        row = connection.exec_driver_sql(TWO_READ, (token, token_digest(request.headers["Authorization"][7:]))).first()
        seconds = connection.exec_driver_sql(TWO_WRITE, (row[4], row[5], row[10])).scalar()
    return jsonify(credited=1, seconds=seconds)


ONE_STATEMENT = (
    "WITH t AS (SELECT a.member_id FROM api_token t JOIN account a ON a.id = t.account_id WHERE t.token_hash = %s),"
    " s AS (UPDATE study_session SET last_seq = last_seq + 1, last_beat_at = now()"
    "       WHERE token = %s AND member_id = (SELECT member_id FROM t) RETURNING member_id, lesson_id)"
    " UPDATE lesson_progress SET seconds = seconds + 1 FROM s"
    " WHERE lesson_progress.member_id = s.member_id AND lesson_progress.lesson_id = s.lesson_id RETURNING seconds")


@app.route("/bench/floor-one/<token>", methods=["POST"])
@csrf.exempt
def floor_one(token):
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        seconds = connection.exec_driver_sql(
            ONE_STATEMENT, (token_digest(request.headers["Authorization"][7:]), token)).scalar()
    return jsonify(credited=1, seconds=seconds)


# The same one statement as a hot path of ours would run it if the rules lived in the database: the
# token checked in SQL, through flask-smorest (the body validated by the heartbeat's schema, the answer
# dumped by its result schema) and on the session's connection in autocommit.
ONE_CHECKED = ONE_STATEMENT.replace(
    "WHERE t.token_hash = %s)", "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > now() AND a.active)")
assert ONE_CHECKED != ONE_STATEMENT
framework = Blueprint("bench_framework", __name__, url_prefix="/api/v1/bench")


@framework.route("/floor-framework/<token>", methods=["POST"])
@framework.arguments(HeartbeatSchema())
@framework.response(200, BeatResultSchema)
def floor_framework(payload, token):
    connection = db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    seconds = connection.exec_driver_sql(ONE_CHECKED, (token_digest(request.headers["Authorization"][7:]), token)).scalar()
    db.session.commit()
    return {"credited": 1, "lesson_seconds": seconds or 0, "lesson_completed": False, "course_completed": False}


api.register_blueprint(framework)
csrf.exempt(framework)
