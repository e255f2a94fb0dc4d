"""The ``learning`` command: Flask's CLI (run, shell, db, routes ...) plus our own groups."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from learning.extensions import db


def _create_app(*_args, **_kwargs):
    from learning import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main():
    """learning: micro-courses, quizzes and points for Party members."""


def register_commands(app) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(accounts_group)


@click.command("demo")
@click.option("--first-start", is_flag=True, help="Load only into an empty database (what `make run` does).")
@with_appcontext
def demo_command(first_start: bool):
    """Load the demo software park (idempotent) and print the demo logins."""
    from learning.demo import database_is_empty, load_demo

    if first_start and not database_is_empty():
        click.echo("The database already holds organisations; demo data not loaded again.")
        result = None
    else:
        result = load_demo(current_app.config["CONTENT_DIR"])
        click.echo(
            f"Demo data: {result.organisations_created} organisations, {result.members_created} members, "
            f"{result.accounts_created} accounts created."
        )
    _print_logins(result.logins if result else _demo_logins())


def _demo_logins():
    from pathlib import Path

    import yaml

    from learning.accounts.services import account_by_username
    from learning.demo import DemoLogin

    path = Path(current_app.config["CONTENT_DIR"]) / "demo" / "accounts.yaml"
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        DemoLogin(e["username"], e["password"], e["role"], e.get("note", ""))
        for e in entries
        if account_by_username(e["username"]) is not None
    ]


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
