"""Accounts JSON API: bearer tokens for the mobile client and the caller's own profile."""
from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint

from learning.accounts import services
from learning.accounts.schemas import MeSchema, TokenRequestSchema, TokenSchema
from learning.api import auth_required, current_api_account
from learning.api.problems import problem
from learning.extensions import db

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Authentication and the caller's account")


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
@blp.alt_response(401, description="Wrong username or password")
def create_token(payload):
    """Exchange a username and password for a bearer token."""
    services.check_login_not_paused(request.remote_addr)
    account = services.authenticate(payload["username"], payload["password"])
    if account is None:
        services.count_failed_login(request.remote_addr)
        return problem(401, _("Wrong username or password"), _("Check the username and password and try again."))
    issued = services.issue_token(account, payload["device_name"])
    services.record_login(account)
    db.session.commit()
    return {"token": issued.token, "token_type": "Bearer", "expires_at": issued.record.expires_at}


@blp.route("/auth/token", methods=["DELETE"])
@auth_required(blp)
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
