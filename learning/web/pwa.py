"""Installable as an app (PWA): the web app manifest, the service worker and the offline page.

The service worker caches the shell (style, scripts, icons, the offline page) so the app opens from the
home screen at any hour; pages themselves are personal and ``no-store``, so they always come from the
server, and when the network is gone the offline page says so instead of the browser's error.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _

bp = Blueprint("pwa", __name__)

SHELL = ("css/app.css", "js/app.js", "favicon.svg", "icons/icon-192.png", "icons/icon-512.png")


@bp.route("/manifest.webmanifest")
def manifest():
    response = jsonify({
        "name": _("Party Learning"), "short_name": _("Party Learning"), "lang": "zh-CN",
        "start_url": "/", "scope": "/", "display": "standalone", "orientation": "portrait",
        "background_color": "#ffffff", "theme_color": "#b71c1c",
        "description": _("Courses, quizzes, organisational life and points for Party members."),
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": url_for("static", filename="favicon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    })
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/sw.js")
def service_worker():
    """Served from the root so that it may control every page; its shell list carries the assets' versions,
    so a new release replaces the cache."""
    import hashlib

    shell = [url_for("static", filename=name) for name in SHELL] + [url_for("pwa.offline")]
    version = hashlib.sha256("|".join(shell).encode()).hexdigest()[:12]
    script = render_template("pwa/sw.js", shell=shell, version=version)
    response = current_app.response_class(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
def offline():
    response = current_app.make_response(render_template("pwa/offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response


