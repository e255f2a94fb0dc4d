"""The app as gunicorn serves it for bench/answers.py, plus one bare Flask endpoint to compare with.

The bare endpoint lives in the same application (same middleware, same worker), so the ratio of
the two throughputs measures what the answer and heartbeat paths themselves cost.  Heartbeats are
accepted at any pace here (the real minimum gap is 10 seconds per session), so that one session can
be beaten as fast as the benchmark sends; every other check runs as in production.
"""
from flask import jsonify

from learning import create_app
from learning.courses import study
from learning.extensions import csrf

study.MIN_GAP_SECONDS = 0
app = create_app()


@app.route("/bench/bare", methods=["PUT", "POST"])
@csrf.exempt
def bare():
    return jsonify(position=1, answered_at="2026-11-21T00:00:00+00:00")
