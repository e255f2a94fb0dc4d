"""Login, logout, the account page, and account administration for members in scope."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from wtforms.fields.choices import SelectChoice
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from learning import labels
from learning.accounts import administration, services, sessions
from learning.accounts.forms import AccountCreateForm, EmailForm, LoginForm, PasswordChangeForm
from learning.web import ConfirmForm, bounded_int
from learning.accounts.models import ORG_ROLES, Account, Role
from learning.extensions import db
from learning.notifications.services import email_enabled
from learning.orgs.models import Organisation
from learning.orgs.scoping import Permission, member_or_404

bp = Blueprint("accounts", __name__)


def load_user(session_id: str) -> Account | None:
    """Session ids carry a fragment of the password hash, so changing a password
    (or an administrator resetting it) ends every other session of the account."""
    account_id = bounded_int(session_id.partition(".")[0])
    if account_id is None:
        return None
    account = sessions.live_account(account_id)
    if account is None or account.get_id() != session_id:
        return None
    return account

_PASSWORD_CHANGE_EXEMPT = {"accounts.account", "accounts.logout", "site.set_language", "static", "site.healthz", "site.readyz"}


def enforce_password_change():
    """An account with a temporary password may do nothing until it sets its own."""
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint not in _PASSWORD_CHANGE_EXEMPT
        and not request.path.startswith("/api/")
    ):
        flash(_("Set a new password before you continue."), "warning")
        return redirect(url_for("accounts.account"))
    return None


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = LoginForm()
    error = None
    if request.method == "POST":
        services.check_login_not_paused(request.remote_addr, request.form.get("username"))
    if form.validate_on_submit():
        account = services.authenticate(form.username.data, form.password.data)
        if account is None:
            services.count_failed_login(request.remote_addr, form.username.data)
            error = _("Wrong username or password. After several failed attempts, logging in is paused for a few minutes.")
        else:
            session.clear()  # a fresh session on login: no fixation
            login_user(account)
            sessions.begin(account, request.remote_addr)
            session.permanent = True
            if account.locale:
                session["locale"] = account.locale
            services.record_login(account)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("site.home"))
    return render_template("accounts/login.html", form=form, error=error)


@bp.route("/logout", methods=["POST"])
def logout():
    ConfirmForm().validate_on_submit() or abort(400)
    sessions.end_current()  # on the server: a copy of this cookie no longer works
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = PasswordChangeForm()
    email_form = EmailForm(prefix="mail", data={"email": current_user.email})
    if request.method == "POST" and "mail-submit_email" in request.form:
        if email_form.validate_on_submit():
            services.set_email(current_user, email_form.email.data)
            db.session.commit()
            flash(_("Your e-mail for reminders has been saved.") if current_user.email
                  else _("Reminders will only appear under Messages."), "success")
            return redirect(url_for("accounts.account"))
    elif form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.new_password.data,
                                     keep_current_session=True)
        except services.AccountError as exc:
            getattr(form, exc.field or "new_password").errors.append(str(exc.message))
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # the session id changed with the password
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("accounts.account"))
    return render_template(
        "accounts/account.html",
        form=form,
        email_form=email_form,
        email_enabled=email_enabled(),
        tokens=services.active_tokens(current_user),
        revoke_form=ConfirmForm(),
        labels=labels,
    )


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    ConfirmForm().validate_on_submit() or abort(400)
    if not services.revoke_token(current_user, token_id):
        abort(404)
    db.session.commit()
    flash(_("The device has been signed out."), "success")
    return redirect(url_for("accounts.account"))


# -- administration of accounts ----------------------------------------------------------
@bp.route("/admin/members/<int:member_id>/account", methods=["GET", "POST"])
@login_required
def create_account(member_id: int):
    member = member_or_404(current_user, member_id, Permission.MANAGE_MEMBERS)
    if db.session.scalar(select(Account.id).where(Account.member_id == member.id)) is not None:
        flash(_("This member already has an account."), "warning")
        return redirect(url_for("orgs.member_detail", member_id=member.id))
    form = AccountCreateForm()
    form.role.choices = [SelectChoice(r.value, labels.role(r)) for r in administration.grantable_roles(current_user)]
    orgs = administration.grantable_orgs(current_user, member)
    form.organisation.choices = [SelectChoice(o.id, o.name) for o in orgs]
    if request.method == "GET":
        form.username.data = member.external_id or ""
    if form.validate_on_submit():
        role = Role(form.role.data)
        organisation = db.session.get(Organisation, form.organisation.data) if role in ORG_ROLES else None
        if role in ORG_ROLES and organisation not in orgs:
            form.organisation.errors.append(_("Choose an organisation you manage."))
        else:
            temporary = form.password.data or services.generate_temporary_password()
            try:
                created = services.create_account(
                    form.username.data,
                    temporary,
                    member=member,
                    role=role,
                    organisation=organisation,
                    created_by=current_user,
                    must_change_password=True,
                )
            except services.AccountError as exc:
                db.session.rollback()
                field = getattr(form, exc.field, None) if exc.field in ("username", "password", "role", "organisation") else None
                (field.errors if field is not None else form.username.errors).append(str(exc.message))
            else:
                db.session.commit()
                return _no_store(render_template(
                    "accounts/credentials.html", account=created, password=temporary, member=member
                ))
    return render_template("accounts/create.html", form=form, member=member)


def _administered(account_id: int) -> Account:
    """The account named in the URL, if the current user may administer it (404 otherwise: ids
    cannot be probed)."""
    ConfirmForm().validate_on_submit() or abort(400)
    target = db.session.get(Account, account_id)
    if not administration.may_administer(current_user, target):
        abort(404)
    return target


def _back_to(target: Account):
    if target.member_id is not None:
        return redirect(url_for("orgs.member_detail", member_id=target.member_id))
    return redirect(url_for("site.home"))


@bp.route("/admin/accounts/<int:account_id>/reset-password", methods=["POST"])
@login_required
def reset_password(account_id: int):
    target = _administered(account_id)
    temporary = administration.reset_password(current_user, target)
    db.session.commit()
    return _no_store(
        render_template("accounts/credentials.html", account=target, password=temporary, member=target.member, reset=True)
    )


@bp.route("/admin/accounts/<int:account_id>/sign-out", methods=["POST"])
@login_required
def sign_out(account_id: int):
    target = _administered(account_id)
    administration.sign_out(current_user, target)
    db.session.commit()
    flash(_("%(name)s has been signed out on every device.", name=target.name), "success")
    return _back_to(target)


@bp.route("/admin/accounts/<int:account_id>/lock", methods=["POST"])
@login_required
def lock(account_id: int):
    target = _administered(account_id)
    locked = request.form.get("locked") == "1"
    administration.set_locked(current_user, target, locked)
    db.session.commit()
    flash(_("The account of %(name)s is locked.", name=target.name) if locked
          else _("The account of %(name)s is unlocked.", name=target.name), "success")
    return _back_to(target)


def _change_roles(target: Account, change, done: str):
    """Run one role change on ``target``; a refusal is flashed and writes nothing."""
    try:
        change()
    except (administration.AdministrationError, services.AccountError) as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return _back_to(target)


@bp.route("/admin/accounts/<int:account_id>/roles/<int:grant_id>/revoke", methods=["POST"])
@login_required
def revoke_role(account_id: int, grant_id: int):
    target = _administered(account_id)
    return _change_roles(target, lambda: administration.revoke_role(current_user, target, grant_id),
                         _("The role has been taken away; the account has been signed out."))


@bp.route("/admin/accounts/<int:account_id>/roles", methods=["POST"])
@login_required
def add_role(account_id: int):
    target = _administered(account_id)
    role_value, org_value = request.form.get("role", ""), request.form.get("organisation", "")
    org_id = bounded_int(org_value) if org_value else None
    if role_value not in {r.value for r in Role} or (org_value and org_id is None):
        abort(400)
    organisation = db.session.get(Organisation, org_id) if org_id else None
    return _change_roles(target, lambda: administration.add_role(current_user, target, Role(role_value), organisation),
                         _("The role has been granted."))


@bp.route("/admin/members/bulk", methods=["POST"])
@login_required
def bulk_accounts():
    """One action on the members ticked on the members page (accounts, passwords, locks, sign-outs)."""
    from learning.accounts import bulk
    from learning.orgs.scoping import scope_for

    scope_for(current_user).has_any(Permission.MANAGE_MEMBERS) or abort(403)
    ConfirmForm().validate_on_submit() or abort(400)
    back = request.form.get("next", "")
    back = back if back.startswith("/admin/members") and "//" not in back else url_for("orgs.members")
    ids = [bounded_int(v) for v in request.form.getlist("member")]  # None: past 32 bits, a sign, a letter
    try:
        outcome = bulk.run(current_user, request.form.get("action", ""), ids)
    except bulk.BulkError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(back)
    db.session.commit()
    return _no_store(render_template("accounts/bulk_result.html", outcome=outcome, back=back,
                                     action=bulk.ACTIONS[outcome.action]))


def _no_store(html: str):
    """Pages that show a password must not stay in a browser's or proxy's cache."""
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response
