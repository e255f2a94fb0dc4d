"""learning: micro-courses, quizzes, challenge campaigns and points for Party members."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import gettext as _
from flask_login import current_user

from learning.config import MIGRATIONS_DIR, Config, default_instance_path, normalise_database_url
from learning import extensions as ext

PACKAGE_DIR = Path(__file__).resolve().parent
__version__ = "0.1.0"


def create_app(config: dict | None = None) -> Flask:
    """Build an application.  ``config`` overrides settings read from the environment."""
    instance_path = Path((config or {}).get("INSTANCE_PATH") or default_instance_path())
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        instance_relative_config=False,
        template_folder=str(PACKAGE_DIR / "templates"),
        static_folder=str(PACKAGE_DIR / "static"),
    )
    no_writes = bool((config or {}).get("NO_WRITES"))
    app.config.update(Config.from_env(instance_path, create_files=not no_writes).as_dict())
    app.config.update(config or {})
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if no_writes:
        from learning.db import read_only_sqlite

        app.config["SQLALCHEMY_DATABASE_URI"] = read_only_sqlite(app.config["SQLALCHEMY_DATABASE_URI"])
    from learning import engines

    engines.configure(app)  # time limits, PgBouncer's transaction mode (before the engine exists)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PACKAGE_DIR / "translations")

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    from learning import logs

    logs.init_app(app)
    from learning import errortracking, metrics

    errortracking.init_app(app)
    metrics.init_app(app)
    from learning import web

    web.init_app(app)  # bounded URL converters before any route; error pages; security headers
    _init_extensions(app)
    _register_blueprints(app)
    _register_template_helpers(app)

    from learning.cli import register_commands

    register_commands(app)
    return app


def select_locale() -> str:
    from flask import current_app, has_request_context

    if not has_request_context():  # CLI and jobs speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = _config_languages()
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _config_languages() -> list[str]:
    from flask import current_app

    return current_app.config["LANGUAGES"]


def _init_extensions(app: Flask) -> None:
    from learning.api import register_api
    import learning.db  # noqa: F401  (registers the SQLite pragmas)

    ext.db.init_app(app)
    from learning import engines

    with app.app_context():
        engines.install_transaction_limits(app, ext.db.engine)
        engines.install_idle_ping(app, ext.db.engine)
    ext.migrate.init_app(app, ext.db, directory=str(MIGRATIONS_DIR), compare_type=True)
    ext.login_manager.init_app(app)
    ext.login_manager.login_view = "accounts.login"
    ext.login_manager.login_message_category = "info"
    ext.csrf.init_app(app)
    ext.babel.init_app(app, locale_selector=select_locale)
    ext.limiter.init_app(app)
    register_api(app, ext.api)

    from learning.accounts import models as account_models  # noqa: F401
    from learning.orgs import models as org_models  # noqa: F401
    from learning.points import models as points_models  # noqa: F401
    from learning.courses import models as course_models  # noqa: F401
    from learning.registry import models as registry_models  # noqa: F401
    from learning.quizzes import models as quiz_models  # noqa: F401
    from learning.notifications import models as notification_models  # noqa: F401
    from learning.scheduler import models as scheduler_models  # noqa: F401
    from learning.audit import models as audit_models  # noqa: F401
    from learning.orglife import models as orglife_models  # noqa: F401
    from learning.evaluation import models as evaluation_models  # noqa: F401
    from learning.exports import models as export_models  # noqa: F401
    from learning.courses import compliance as study_report
    from learning.points import exports as points_exports

    for exporter in (points_exports, study_report):
        exporter.register()  # what a city exports in the background (learning.exports imports no feature)
    from learning.courses import hours as course_hours

    course_hours.register()  # the appraisal's study-hours gate (points imports no feature)
    from learning.orglife import volunteer

    volunteer.register()  # the appraisal's volunteer hours (likewise)
    import learning.points.notices  # noqa: F401  (registers how its messages read)
    import learning.orglife.notices  # noqa: F401  (likewise)
    import learning.evaluation.notices  # noqa: F401  (likewise)
    from learning.courses import panels as course_panels
    from learning.points import panels as points_panels
    from learning.quizzes import panels as quiz_panels
    from learning.orglife import panels as orglife_panels

    from learning.evaluation import honour_views as honour_panels

    for panels in (points_panels, course_panels, quiz_panels, orglife_panels, honour_panels):
        panels.register()  # the member page's panels (the organisation pages import no feature)
    from learning.courses import home as course_home
    from learning.orglife import home as orglife_home
    from learning.points import home as points_home
    from learning.quizzes import home as quiz_home
    from learning.evaluation import home as evaluation_home

    for home in (points_home, course_home, orglife_home, quiz_home, evaluation_home):
        home.register()  # an administrator's home: what needs doing, the branch's figures (it imports no feature)
    from learning.accounts.views import load_user

    ext.login_manager.user_loader(load_user)

    @ext.login_manager.unauthorized_handler
    def _unauthorized():
        from flask import flash, redirect, url_for

        flash(_("Please log in to continue."), "info")
        return redirect(url_for("accounts.login", next=request.full_path if request.method == "GET" else None))


def _register_blueprints(app: Flask) -> None:
    from learning.accounts.views import bp as accounts_bp
    from learning.accounts.views import enforce_password_change
    from learning.courses.admin import bp as course_admin_bp
    from learning.courses.views import bp as courses_bp
    from learning.orgs.views import bp as orgs_bp
    from learning.points.views import bp as points_bp
    from learning.points.review import bp as points_review_bp
    from learning.quizzes.admin import bp as quiz_admin_bp
    from learning.quizzes.views import bp as quizzes_bp
    from learning.registry.scim import bp as scim_bp
    from learning.registry.views import bp as registry_bp
    from learning.notifications.views import bp as notifications_bp
    from learning.scheduler.views import bp as scheduler_bp
    from learning.audit.views import bp as audit_bp
    from learning.orglife.admin import bp as orglife_admin_bp
    from learning.orglife.supervision import bp as orglife_records_bp
    from learning.orglife.views import bp as orglife_bp
    from learning.evaluation.views import bp as evaluation_bp
    from learning.evaluation.ballot_views import admin_bp as ballot_admin_bp, bp as ballot_bp
    from learning.evaluation.inspection_views import bp as inspection_bp
    from learning.evaluation.year_views import bp as yearly_bp
    from learning.evaluation.honour_views import bp as honours_bp
    from learning.exports.views import bp as exports_bp
    from learning.site import bp as site_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(points_bp)
    app.register_blueprint(points_review_bp)
    app.register_blueprint(registry_bp)
    app.register_blueprint(scim_bp)
    app.register_blueprint(courses_bp)
    app.register_blueprint(course_admin_bp)
    app.register_blueprint(quizzes_bp)
    app.register_blueprint(quiz_admin_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(scheduler_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(orglife_bp)
    app.register_blueprint(orglife_admin_bp)
    app.register_blueprint(orglife_records_bp)
    app.register_blueprint(evaluation_bp)
    app.register_blueprint(ballot_bp)
    app.register_blueprint(ballot_admin_bp)
    app.register_blueprint(inspection_bp)
    app.register_blueprint(yearly_bp)
    app.register_blueprint(honours_bp)
    app.register_blueprint(exports_bp)
    app.before_request(enforce_password_change)


def _register_template_helpers(app: Flask) -> None:
    from flask_babel import format_date, format_datetime, get_locale

    from learning import labels

    @app.context_processor
    def inject():
        return {
            "unread_notifications": _unread_notifications(),
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "labels": labels,
        }

    def _unread_notifications() -> int:
        if not current_user.is_authenticated or current_user.member_id is None:
            return 0
        from learning.notifications.services import unread_count

        return unread_count(current_user.member_id)

    def page_url(page: int) -> str:
        """The current page's URL with its query string kept and only ``page`` changed."""
        from flask import url_for

        args = request.args.to_dict()
        args["page"] = page
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    def admin_can(permission: str) -> bool:
        from learning.orgs.scoping import Permission, scope_for

        return current_user.is_authenticated and scope_for(current_user).has_any(Permission(permission))

    app.jinja_env.globals["page_url"] = page_url
    app.jinja_env.globals["admin_can"] = admin_can
    app.jinja_env.globals["period_label"] = labels.period
    def datetime_filter(value, fmt=None):
        """A date and time to the minute in the user's language and time zone (``fmt``: Babel's)."""
        if not value:
            return ""
        if fmt:
            return format_datetime(value, fmt)
        from flask_babel import format_time

        return f"{format_date(value, 'medium')} {format_time(value, 'short')}"

    app.jinja_env.filters["datetime"] = datetime_filter
    app.jinja_env.filters["date"] = lambda v, fmt="medium": format_date(v, fmt) if v else ""
    app.jinja_env.filters["hours"] = labels.hours
