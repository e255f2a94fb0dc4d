"""Optional error tracking: with ``LEARNING_SENTRY_DSN`` set, unexpected errors (HTTP 500s, failed
jobs) are sent to Sentry or a self-hosted GlitchTip on the intranet, tagged with the request id of
our log line.  Nothing personal is sent (``send_default_pii`` at its default, off: no cookies, no
user data, no addresses; no request bodies, no local variables of the stack's frames) and no
performance traces unless ``LEARNING_SENTRY_TRACES_SAMPLE_RATE`` asks for them.
"""
from __future__ import annotations

_enabled = False


def capture(error: BaseException) -> None:
    """Send one unexpected error (the 500 handler and failed jobs call this); nothing without a DSN.
    Explicit rather than through log records: a logger that a library's logging set-up disabled
    (Alembic's fileConfig does) would otherwise lose the event."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.capture_exception(error)


def init_app(app) -> None:
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return
    global _enabled
    import sentry_sdk
    from flask import g
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    from learning import __version__

    sentry_sdk.init(
        dsn=dsn,
        # Errors are sent by capture(); log records are kept only as breadcrumbs (no duplicates).
        integrations=[FlaskIntegration(), LoggingIntegration(event_level=None)],
        release=f"learning@{__version__}",
        environment=app.config.get("SENTRY_ENVIRONMENT") or "production",
        # send_default_pii is left at its default (off; the option itself is deprecated in 2.7x)
        include_local_variables=False,  # a frame's variables may hold a member's data or a password
        max_request_body_size="never",  # forms carry passwords and personal details
        traces_sample_rate=float(app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0),
    )

    _enabled = True

    @app.before_request
    def _tag_request():
        request_id = getattr(g, "request_id", None)
        if request_id:
            sentry_sdk.get_isolation_scope().set_tag("request_id", request_id)
