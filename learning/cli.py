"""The ``learning`` command: Flask's CLI (run, shell, db, routes ...) plus our own groups."""
from __future__ import annotations

import click
from flask import current_app
from flask_babel import gettext as _
from flask.cli import FlaskGroup, with_appcontext

from learning.extensions import db


def _create_app(*_args, **_kwargs):
    from learning import create_app

    # Commands and the scheduler get the longer database limits; `learning doctor` writes nothing
    # (no secret key file, no instance folder, the SQLite file opened read-only).
    context = click.get_current_context(silent=True)
    doctor = context is not None and context.info_name == "doctor"
    return create_app({"DB_ROLE": "job", **({"NO_WRITES": True} if doctor else {})})


def _version(ctx, _param, value):
    if value and not ctx.resilient_parsing:
        from learning import __version__

        click.echo(f"learning {__version__}")
        ctx.exit()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Print the version of learning and exit.")
def main():
    """learning: micro-courses, quizzes and points for Party members."""


def register_commands(app) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(accounts_group)
    app.cli.add_command(points_group)
    app.cli.add_command(periods_group)
    app.cli.add_command(rankings_group)
    from learning.registry.commands import registry_group

    app.cli.add_command(registry_group)
    app.cli.add_command(content_group)
    app.cli.add_command(scheduler_group)
    app.cli.add_command(serve_command)
    app.cli.add_command(doctor_command)


@click.command("demo")
@click.option("--first-start", is_flag=True, help="Load only into an empty database (what `make run` does).")
@with_appcontext
def demo_command(first_start: bool):
    """Load the demo software park (idempotent) and print the demo logins."""
    from learning.demo import database_is_empty, demo_logins, load_demo

    if first_start and not database_is_empty():
        click.echo("The database already holds organisations; demo data not loaded again.")
        result = None
    else:
        result = load_demo(current_app.config["CONTENT_DIR"])
        click.echo(
            f"Demo data: {result.organisations_created} organisations, {result.members_created} members, "
            f"{result.accounts_created} accounts created."
        )
    _print_logins(result.logins if result else demo_logins(current_app.config["CONTENT_DIR"], existing_only=True))


def _print_logins(logins) -> None:
    if not logins:
        return
    click.echo("\nDemo logins (change these passwords before real use):")
    width = max(len(login.username) for login in logins)
    for login in logins:
        click.echo(f"  {login.username.ljust(width)}  {login.password:<16} {login.note}")


@click.group("accounts")
def accounts_group():
    """Create accounts and grant roles from scripts."""


@accounts_group.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option(
    "--role",
    type=click.Choice(["member", "branch_secretary", "reviewer", "org_admin", "superadmin"]),
    default="member",
    show_default=True,
)
@click.option("--org", "org_external_id", help="External id of the organisation the role is granted on.")
@click.option("--member", "member_external_id", help="External id of the member this account belongs to.")
@with_appcontext
def create_account_command(username, password, role, org_external_id, member_external_id):
    """Create an account USERNAME with one role."""
    from learning.accounts import services
    from learning.accounts.models import ORG_ROLES, Role
    from learning.orgs.services import member_by_external_id, org_by_external_id

    role = Role(role)
    organisation = member = None
    if org_external_id:
        organisation = org_by_external_id(org_external_id)
        if organisation is None:
            raise click.BadParameter(f"no organisation with external id {org_external_id!r}", param_hint="--org")
    elif role in ORG_ROLES:
        raise click.BadParameter(f"the role {role.value} needs --org", param_hint="--org")
    if member_external_id:
        member = member_by_external_id(member_external_id)
        if member is None:
            raise click.BadParameter(f"no member with external id {member_external_id!r}", param_hint="--member")
    elif role == Role.MEMBER:
        raise click.BadParameter("a member account needs --member", param_hint="--member")
    try:
        account = services.create_account(
            username, password, member=member, role=role, organisation=organisation
        )
    except services.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc.message)) from None
    db.session.commit()
    click.echo(f"Created account {account.username} ({role.value}{' on ' + organisation.name if organisation else ''}).")


# -- points -----------------------------------------------------------------------------------
@click.group("points")
def points_group():
    """Point rules and ledger checks."""


@points_group.command("load-rules")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def load_rules_command(path):
    """Create the rules of content/points/rules.yaml (or PATH) that do not exist yet."""
    from pathlib import Path

    from learning.points.services import load_rules

    created = load_rules(path or Path(current_app.config["CONTENT_DIR"]) / "points" / "rules.yaml")
    db.session.commit()
    click.echo(f"{created} rules created.")


@points_group.command("verify-totals")
@with_appcontext
def verify_totals_command():
    """Check that every cached total equals a rebuild from the ledger."""
    from learning.points.services import verify_totals

    problems = verify_totals()
    for problem in problems[:50]:
        click.echo(problem)
    if problems:
        raise click.ClickException(f"{len(problems)} cached totals differ from the ledger")
    click.echo("All cached totals equal the ledger.")


@click.group("periods")
def periods_group():
    """Close periods and verify their snapshots."""


@periods_group.command("close")
@click.argument("period")
@with_appcontext
def close_period_command(period):
    """Freeze PERIOD (2026Q4, 2026-11 or 2026) into a ranking snapshot; safe to run again."""
    from learning.points.periods import PeriodError
    from learning.points.services import PointsError
    from learning.points.snapshots import close_period

    try:
        result = close_period(period)
    except (PointsError, PeriodError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    s = result.snapshot
    verb = "Closed" if result.created else "Already closed"
    click.echo(f"{verb} {s.period_key}: {s.member_rows} members, {s.org_rows} organisations, "
               f"{s.entry_count} ledger rows, checksum {s.checksum}")


@periods_group.command("verify")
@click.argument("period")
@with_appcontext
def verify_period_command(period):
    """Rebuild PERIOD's snapshot from the ledger and report any difference (exit 1 if any)."""
    from learning.points.periods import PeriodError
    from learning.points.snapshots import verify_snapshot

    try:
        problems = verify_snapshot(period)
    except PeriodError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in problems[:100]:
        click.echo(problem)
    if problems:
        raise click.ClickException(f"the snapshot of {period} does not match the ledger ({len(problems)} differences)")
    click.echo(f"The snapshot of {period} matches the ledger.")


@click.group("rankings")
def rankings_group():
    """Ranking exports."""


@rankings_group.command("export")
@click.option("--period", required=True, help="2026Q4, 2026-11, 2026 or all")
@click.option("--org", "org_external_id", required=True, help="External id of the organisation")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_rankings_command(period, org_external_id, fmt, output):
    """Write the members and branches rankings of ORG for PERIOD to a file."""
    from pathlib import Path

    from learning.orgs.services import org_by_external_id
    from learning.points.exports import rankings_csv, rankings_xlsx
    from learning.points.periods import PeriodError, parse

    try:
        parse(period)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    org = org_by_external_id(org_external_id)
    if org is None:
        raise click.BadParameter(f"no organisation with external id {org_external_id!r}", param_hint="--org")
    data = rankings_xlsx(org, period).bytes() if fmt == "xlsx" else rankings_csv(org, period)
    Path(output).write_bytes(data)
    click.echo(f"Wrote {output} ({len(data)} bytes).")


# -- registry ---------------------------------------------------------------------------------
# -- content ----------------------------------------------------------------------------------
@click.group("content")
def content_group():
    """Courses and question banks shipped as files (content/courses, content/quizzes)."""


@content_group.command("import")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False))
@with_appcontext
def content_import_command(path):
    """Import or update the courses under PATH (default: content/courses, and then the question banks
    and quizzes of content/quizzes); re-importing is a no-op."""
    from pathlib import Path

    from learning.courses.content import import_courses

    root = Path(path) if path else Path(current_app.config["CONTENT_DIR"]) / "courses"
    report = import_courses(root)
    for error in report.errors:
        click.echo(_("error: %(error)s", error=error), err=True)
    for lesson in report.retired_lessons:
        click.echo(_("retired lesson %(lesson)s", lesson=lesson))
    click.echo(_("Courses: %(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(errors)d with errors "
                 "(not imported).", created=len(report.created), updated=len(report.updated),
                 unchanged=len(report.unchanged), errors=len(report.errors)))
    failed = bool(report.errors)
    if not path:
        failed = not _import_quizzes(Path(current_app.config["CONTENT_DIR"]) / "quizzes") or failed
    if failed:
        raise click.exceptions.Exit(1)


@content_group.command("quizzes")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False))
@with_appcontext
def content_quizzes_command(path):
    """Import or update the question banks (PATH/banks: .yaml, .gift, Aiken .txt) and PATH/quizzes.yaml
    (default: content/quizzes).  A file with an error imports nothing; every error is listed."""
    from pathlib import Path

    if not _import_quizzes(Path(path) if path else Path(current_app.config["CONTENT_DIR"]) / "quizzes"):
        raise click.exceptions.Exit(1)


def _import_quizzes(root) -> bool:
    from learning.quizzes.banks import import_content

    report = import_content(root)
    db.session.commit()
    for error in report.errors:
        click.echo(_("error: %(error)s", error=error), err=True)
    click.echo(_("Question banks %(banks)s: %(created)d questions created, %(updated)d updated, %(unchanged)d "
                 "unchanged, %(retired)d retired; quizzes: %(quizzes)s.", banks=", ".join(report.banks) or "-",
                 created=report.created, updated=report.updated, unchanged=report.unchanged, retired=report.retired,
                 quizzes=", ".join(report.quizzes) or "-"))
    return report.ok


# -- scheduler, serving and operations --------------------------------------------------------
@click.group("scheduler", invoke_without_command=True)
@click.pass_context
def scheduler_group(ctx):
    """Run the scheduler (its own process), or list and run its jobs."""
    if ctx.invoked_subcommand is None:
        from flask.cli import ScriptInfo

        from learning.scheduler.process import run_blocking

        run_blocking(ctx.ensure_object(ScriptInfo).load_app(), echo=click.echo)


@scheduler_group.command("jobs")
@with_appcontext
def scheduler_jobs_command():
    """List the jobs with their schedule, next run and last run."""
    from learning.scheduler.services import overview

    for row in overview():
        last = row["last"]
        last_text = f"{last.status.value} {last.started_at:%Y-%m-%d %H:%M}" if last and last.started_at else "never"
        next_text = f"{row['next_run']:%Y-%m-%d %H:%M %Z}" if row["next_run"] else "off"
        click.echo(f"{row['job'].name:<24} {row['schedule']:<16} next {next_text:<24} last {last_text}")


@scheduler_group.command("run")
@click.argument("name")
@with_appcontext
def scheduler_run_command(name):
    """Run job NAME now in this process (under its lock) and print what it did."""
    import json

    from learning.scheduler.jobs import JOBS
    from learning.scheduler.services import run_job

    if name not in JOBS:
        raise click.BadParameter(f"no job {name!r}; one of {', '.join(JOBS)}", param_hint="NAME")
    run = run_job(name)
    if run is None:
        raise click.ClickException(f"{name} is running in another process; try again when it has finished")
    click.echo(f"{name}: {run.status.value} in {run.seconds or 0:.1f} s")
    if run.summary:
        click.echo(json.dumps(run.summary, ensure_ascii=False, indent=2))
    if run.error:
        raise click.ClickException(run.error)


@click.command("serve")
@click.option("--bind", help="host:port (default LEARNING_BIND, 127.0.0.1:8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn worker processes (default LEARNING_WORKERS, 2).")
@click.option("--threads", type=click.IntRange(1, 64), help="threads per worker (default LEARNING_THREADS, 4).")
@click.option("--timeout", type=click.IntRange(5, 3600), default=60, show_default=True, help="Seconds before a stuck worker is restarted.")
@click.option("--embedded", is_flag=True, help="One process: the development server and the scheduler (what `make run` uses).")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --embedded.")
@click.option("--port", type=int, default=5000, show_default=True, help="With --embedded.")
def serve_command(bind, workers, threads, timeout, embedded, host, port):
    """Serve the app with gunicorn (production), or embedded with its scheduler for a laptop."""
    from flask.cli import ScriptInfo

    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    if embedded:
        from learning.serving import serve_embedded

        click.echo(f"Serving on http://{host}:{port} with the scheduler in the same process.")
        serve_embedded(app, host, port)
        return
    from learning.metrics import prepare_multiprocess_dir
    from learning.serving import Gunicorn, gunicorn_options, shared_cache_folder

    prepare_multiprocess_dir(app.config["INSTANCE_PATH"])  # before the workers import prometheus_client
    shared_cache_folder(app.config)  # before the workers read their configuration
    options = gunicorn_options(bind=bind or app.config["BIND"], workers=workers or app.config["WORKERS"],
                               threads=threads or app.config["THREADS"], timeout=timeout)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and options["workers"] > 1:
        click.echo("warning: SQLite with several workers; production uses PostgreSQL (see docs/DEPLOY.md)", err=True)
    Gunicorn(options).run()


@click.command("doctor")
@with_appcontext
def doctor_command():
    """Print the configuration this process sees and what is wrong with it (exit 1 on errors)."""
    from learning.doctor import diagnose, shown_configuration

    click.echo("Configuration:")
    for key, value in shown_configuration(current_app.config):
        click.echo(f"  {key} = {value}")
    click.echo("\nChecks:")
    findings = diagnose(current_app)
    for finding in findings:
        click.echo(f"  [{finding.level:<5}] {finding.topic}: {finding.message}")
    errors = sum(1 for f in findings if f.level == "error")
    warnings = sum(1 for f in findings if f.level == "warn")
    click.echo(f"\n{errors} errors, {warnings} warnings.")
    if errors:
        raise click.exceptions.Exit(1)


main.add_command(doctor_command)  # looked up without building the app first: it builds one that writes nothing
