"""The app as gunicorn serves it for bench/answers.py, plus one bare Flask endpoint to compare with.

The bare endpoint lives in the same application (same middleware, same worker), so the ratio of
the two throughputs measures what the answer path itself costs.
"""
from flask import jsonify

from learning import create_app
from learning.extensions import csrf

app = create_app()


@app.route("/bench/bare", methods=["PUT"])
@csrf.exempt
def bare():
    return jsonify(position=1, answered_at="2026-11-21T00:00:00+00:00")
