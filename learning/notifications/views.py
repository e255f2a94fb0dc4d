"""The member's messages."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from learning.web import ConfirmForm
from learning.extensions import db
from learning.notifications import services
from learning.orgs import queries as org_queries
from learning.web import page_arg

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.route("/")
@login_required
def inbox():
    if current_user.member_id is None:
        abort(404)
    pagination = org_queries.paginate(services.for_member(current_user.member_id), page_arg(),
                                      current_app.config["PAGE_SIZE"])
    items = [(n, services.message(n)) for n in pagination.items]
    return render_template("notifications/inbox.html", pagination=pagination, items=items, form=ConfirmForm())


@bp.route("/read", methods=["POST"])
@login_required
def mark_read():
    ConfirmForm().validate_on_submit() or abort(400)
    if current_user.member_id is None:
        abort(404)
    services.mark_all_read(current_user.member_id)
    db.session.commit()
    return redirect(url_for("notifications.inbox"))
