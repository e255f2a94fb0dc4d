"""``learning registry …``: connections, retries, pull sync and roster import from the command line."""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import select

from learning.extensions import db


@click.group("registry")
def registry_group():
    """Connections to the membership registry and its events."""


@registry_group.command("connect")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help='Print {"token": ..., "secret": ...} for scripts.')
@with_appcontext
def connect_command(name, as_json):
    """Create a connection NAME; its SCIM token and event secret are printed once."""
    import json

    from learning.registry.services import RegistryError, create_connection

    try:
        issued = create_connection(name)
    except RegistryError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    if as_json:
        click.echo(json.dumps({"token": issued.token, "secret": issued.secret}))
    else:
        click.echo(f"Connection {name} created. Store these now; they are not shown again.")
        click.echo(f"  SCIM bearer token: {issued.token}")
        click.echo(f"  event signing secret: {issued.secret}")


@registry_group.command("retry")
@with_appcontext
def retry_command():
    """Apply failed registry events again."""
    from learning.registry.services import retry_failed

    click.echo(f"{retry_failed()} failed events now applied.")


def _connection_named(name):
    from learning.registry.models import RegistryConnection

    connection = db.session.scalar(select(RegistryConnection).where(RegistryConnection.name == name))
    if connection is None or not connection.active:
        raise click.ClickException(f"no active connection named {name!r}")
    return connection


@registry_group.command("pull-from")
@click.argument("name")
@click.argument("url")
@click.option("--token", prompt=True, hide_input=True, help="The bearer token the registry's SCIM server issued.")
@with_appcontext
def pull_from_command(name, url, token):
    """Pull connection NAME's roster from the registry's SCIM server at URL (…/scim/v2)."""
    from learning.registry.services import RegistryError, set_pull_source

    try:
        set_pull_source(_connection_named(name), url, token)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{name} will pull from {url}.")


@registry_group.command("pull")
@click.argument("name")
@click.option("--apply", is_flag=True, help="Write the changes (without it: a dry run that writes nothing).")
@click.option("--force", is_flag=True, help="Apply even if it deactivates more than a tenth of the members.")
@with_appcontext
def pull_command(name, apply, force):
    """Pull the roster from connection NAME's SCIM server and reconcile it: a dry run unless --apply."""
    from learning.registry.sync import SyncError, pull

    try:
        run = pull(_connection_named(name), apply=apply, force=force)
    except SyncError as exc:
        raise click.ClickException(str(exc)) from None
    for part in ("organisations", "members"):
        figures = (run.summary or {}).get(part) or {}
        if figures:
            click.echo(f"{part}: {figures['created']} created, {figures['updated']} updated, "
                       f"{figures['deactivated']} deactivated, {figures['unchanged']} unchanged, "
                       f"{figures['problem_count']} problems")
            for problem in figures["problems"][:50]:
                where = _("row %(n)d", n=problem["row"])
                click.echo(f"  {where}: {problem['message']}")
    if run.status.value != "succeeded":
        raise click.ClickException(run.error or "the pull failed")
    click.echo("Applied." if apply else "Dry run: nothing was written; add --apply to write it.")


@registry_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--apply", is_flag=True, help="Write the changes (without it: a dry run that writes nothing).")
@click.option("--keep-missing", is_flag=True, help="Do not deactivate members missing from the file.")
@click.option("--force", is_flag=True, help="Apply even if it deactivates more than a tenth of the members.")
@with_appcontext
def import_command(path, apply, keep_missing, force):
    """Import a roster (CSV or XLSX with Chinese headers): a dry run unless --apply."""
    import time

    from learning.registry.roster import RosterError, import_roster

    started = time.perf_counter()
    try:
        report = import_roster(path, apply=apply, deactivate_missing=not keep_missing, force=force)
    except RosterError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in report.problems[:200]:
        where = _("row %(n)d", n=problem.row)
        click.echo(f"{where}: {problem.message}")
    if len(report.problems) > 200:
        click.echo(f"... and {len(report.problems) - 200} more problems")
    verb, done = ("Applied", "") if report.applied else ("Dry run", "to be ")
    click.echo(
        f"{verb} ({report.kind}, {report.rows} rows, {time.perf_counter() - started:.1f} s): "
        f"{len(report.created)} {done}created, {len(report.updated)} {done}updated, "
        f"{len(report.deactivated)} {done}deactivated, {report.unchanged} unchanged, {len(report.problems)} problems."
    )
    if report.problems:
        raise click.ClickException("nothing was written: fix the rows above and run again")
    if apply and not report.applied and report.too_many_leavers:
        raise click.ClickException(f"nothing was written: {report.too_many_leavers}; check the file, "
                                   "then run it again with --force")
