"""Pages that belong to no single feature: the member's home, language switch, health checks."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text
from urllib.parse import urlsplit

from learning.extensions import csrf, db

bp = Blueprint("site", __name__)


@bp.route("/")
@login_required
def home():
    from learning.courses import services as courses
    from learning.evaluation.ballots import window_for as ballot_window
    from learning.orglife import activities
    from learning.points.queries import member_summary
    from learning.quizzes import services as quizzes

    from learning.web import ConfirmForm
    from learning.web.figures import home_figures
    from learning.web.todo import todos

    member = current_user.member
    work = todos(current_user) if current_user.is_administrator else []
    org, figures = home_figures(current_user) if current_user.is_administrator else (None, [])
    shared = dict(account=current_user, todos=work, figures=figures, figures_org=org, confirm=ConfirmForm())
    if member is None:  # an administrator without a member record: what exists, not what they did
        return render_template("site/home.html", points=None, daily={"quiz": quizzes.daily_quiz(), "observer": True},
                               **shared)
    return render_template(
        "site/home.html", points=member_summary(member), **shared,
        hours=courses.hours_against_quota(member), daily=quizzes.daily_status(member),
        campaigns=[row for row in quizzes.my_challenges(member) if row["open"]],
        upcoming=db.session.scalars(activities.for_member(member).limit(3)).all(),
        ballot=ballot_window(member),
    )


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    """Remember the chosen language in the session (and on the account when logged in): a change of
    state, so only by POST with the form's CSRF token (a link or an image cannot switch it)."""
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
        if current_user.is_authenticated:
            from learning.accounts.services import set_locale

            set_locale(current_user, code)
            db.session.commit()
    target = request.referrer or ""
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        target = ""
    return redirect(target or url_for("site.home"))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the site's icon, not a 404."""
    return redirect(url_for("static", filename="favicon.svg"))  # 302: the target's version may change


@bp.route("/healthz")
@csrf.exempt
def healthz():
    """The process is up; says nothing about its dependencies."""
    return jsonify(status="ok")


def migration_head() -> str:
    """The newest migration this code ships (read once per process)."""
    head = current_app.extensions.get("learning_migration_head")
    if head is None:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory(current_app.extensions["migrate"].directory).get_current_head()
        current_app.extensions["learning_migration_head"] = head
    return head


def schema_state() -> str:
    """"ok" when the database is at the migration head; else what is wrong with it."""
    from alembic.migration import MigrationContext

    current = MigrationContext.configure(db.session.connection()).get_current_heads()
    if not current:
        return "not migrated: run `learning db upgrade`"
    head = migration_head()
    if head not in current:
        return f"at {', '.join(current)}, the code needs {head}: run `learning db upgrade`"
    return "ok"


@bp.route("/readyz")
@csrf.exempt
def readyz():
    """Ready: the database answers at the migration head and a scheduler has beaten recently.  ``?only=database`` leaves
    the scheduler out (for a load balancer: web nodes can serve while the scheduler restarts)."""
    from learning.scheduler.services import last_beat, scheduler_alive

    checks, ready = {}, True
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
        checks["schema"] = schema_state()
    except Exception as exc:  # any driver error means not ready
        current_app.logger.warning("readiness check failed: %s", exc)
        db.session.rollback()
        return jsonify(status="unavailable", checks={"database": "unreachable"}), 503
    if checks["schema"] != "ok":
        ready = False
    if request.args.get("only") != "database":
        beat_at = last_beat()
        if scheduler_alive():
            checks["scheduler"] = "ok"
        else:
            ready = False
            checks["scheduler"] = "no heartbeat" if beat_at is None else "stale"
        checks["scheduler_heartbeat"] = beat_at.isoformat() if beat_at else None
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
