"""Accounts JSON API: bearer tokens for the mobile client and the caller's own profile."""
from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint

from learning.accounts import services
from learning.accounts.schemas import MeSchema, PasswordChangeSchema, TokenRequestSchema, TokenSchema
from learning.api import auth_required, current_api_account
from learning.api.problems import problem
from learning.extensions import db

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Authentication and the caller's account")


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, description="Wrong username or password")
def create_token(payload):
    """Exchange a username and password for a bearer token.

    While the account has a temporary password (`must_change_password`), the token has the scope
    `password_change`: it is good for an hour and only for `POST /api/v1/me/password`; every other
    operation answers 403 with the code `password_change_required`."""
    services.check_login_not_paused(request.remote_addr, payload["username"])
    account = services.authenticate(payload["username"], payload["password"])
    if account is None:
        services.count_failed_login(request.remote_addr, payload["username"])
        return problem(401, _("Wrong username or password"), _("Check the username and password and try again."))
    issued = services.issue_token(account, payload["device_name"])
    services.record_login(account)
    db.session.commit()
    return _token_body(issued)


def _token_body(issued):
    return {"token": issued.token, "token_type": "Bearer", "expires_at": issued.record.expires_at,
            "scope": issued.record.scope.value, "must_change_password": issued.record.account.must_change_password}


@blp.route("/me/password", methods=["POST"])
@auth_required(blp, for_password_change=True)
@blp.arguments(PasswordChangeSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(422, description="The current password is wrong or the new one is too weak")
def change_password(payload):
    """Set a new password.  Every API token of the account (this one included) and every web session
    end; the answer carries a new token for this device."""
    account = current_api_account()
    try:
        services.change_password(account, payload["current_password"], payload["new_password"])
    except services.AccountError as exc:
        db.session.rollback()
        return problem(422, _("The password was not changed"), str(exc.message),
                       errors={exc.field or "new_password": [str(exc.message)]})
    issued = services.issue_token(account, g.api_token.name)
    db.session.commit()
    return _token_body(issued)


@blp.route("/auth/token", methods=["DELETE"])
@auth_required(blp, for_password_change=True)
@blp.response(204)
def revoke_token():
    """Revoke the token used for this request (log out the device)."""
    services.revoke_token(current_api_account(), g.api_token.id)
    db.session.commit()


@blp.route("/me", methods=["GET"])
@auth_required(blp)
@blp.response(200, MeSchema)
def me():
    """The caller's account, member record and roles."""
    return current_api_account()
