"""The web layer every feature's pages share: access decorators, bounded arguments, the bare
confirmation form, error pages and security headers.  Features' views import from here; nothing
here imports a feature's views.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SubmitField

# PostgreSQL's integer columns are 32-bit: every id, page or position from outside is bounded here.
INT_MAX = 2**31 - 1
PAGE_MAX = 100_000


def admin_required(permission=None):
    """Only accounts that hold ``permission`` (default: viewing members) somewhere may open the page."""
    from learning.orgs.scoping import Permission, scope_for

    permission = permission or Permission.VIEW_MEMBERS

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if not scope_for(current_user).has_any(permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def bounded_int(value: str | None, *, low: int = 1, high: int = INT_MAX) -> int | None:
    """``value`` as an int within [low, high], or None for anything else (letters, signs, 25 digits)."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if low <= number <= high else None


def id_arg(name: str) -> int | None:
    """An optional id in the query string: None when absent or empty, 404 when it is not an id the
    database could hold (letters, a sign, 2^31 or more)."""
    raw = request.args.get(name, "")
    if not raw.strip():
        return None
    value = bounded_int(raw)
    if value is None:
        abort(404)
    return value


def org_arg(permission):
    """The organisation named by ?org= (404 outside the viewer's scope), or the first top of their scope."""
    from learning.orgs.scoping import org_or_404, scope_for

    org_id = id_arg("org")
    if org_id is not None:
        return org_or_404(current_user, org_id, permission)
    return scope_for(current_user).first_root(permission) or abort(403)


def page_arg() -> int:
    """The ?page= of a list: 1 for anything that is not a page number."""
    return bounded_int(request.args.get("page", "1"), high=PAGE_MAX) or 1


class ListPage:
    """One page of an already computed list, with the attributes of Flask-SQLAlchemy's pagination
    (the ``pager`` macro takes either)."""

    def __init__(self, items: list, page: int, per_page: int, *, total: int | None = None, fetch=None):
        """``items``: the whole list; or with ``total`` and ``fetch`` (page number → that page's
        items), only the page asked for is read, after the number is brought into range."""
        self.total = len(items) if total is None else total
        self.per_page = per_page
        self.pages = max((self.total + per_page - 1) // per_page, 1)
        self.page = min(max(page, 1), self.pages)
        self.items = fetch(self.page) if fetch is not None else items[(self.page - 1) * per_page: self.page * per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1

    @classmethod
    def counted(cls, total: int, page: int, per_page: int, fetch) -> "ListPage":
        return cls([], page, per_page, total=total, fetch=fetch)


class ConfirmForm(FlaskForm):
    """A bare form for POST buttons: only the CSRF token."""

    submit = SubmitField(_l("Confirm"))


def init_app(app) -> None:
    """Bounded URL converters (before any route is added), error pages, security headers and versioned
    static URLs."""
    from learning.web import assets, converters, errors, inputs, pwa, security

    app.register_blueprint(pwa.bp)
    assets.init_app(app)
    converters.init_app(app)
    errors.init_app(app)
    inputs.init_app(app)
    security.init_app(app)
