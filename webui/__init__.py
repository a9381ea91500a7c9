"""The coproduce web UI: a Flask application factory (as in the Flask tutorial) and a dev server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader

from coproduce import __version__
from coproduce.config import Settings
from coproduce.services.access import LoginThrottle
from webui import (
    agreement,
    assets,
    audit,
    auth,
    db,
    easyread,
    errors,
    findings,
    imports,
    navigation,
    notifications,
    projects,
    reports,
    review,
    runs,
    search,
    security,
    selects,
    themes,
)


def create_app(test_config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app. ``settings`` defaults to the environment; ``test_config`` overrides Flask config."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir.resolve()))
    app.jinja_options = {**app.jinja_options, "autoescape": True}
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key or security.instance_secret_key(settings.instance_dir),
        # "__Host-": the browser keeps it only if Secure, for this host, path / (OWASP session management).
        SESSION_COOKIE_NAME="__Host-coproduce_session" if settings.secure_cookies else "coproduce_session",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_lifetime_minutes),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        PAGE_SIZE=25,
        MAX_CONTENT_LENGTH=settings.max_file_bytes,
    )
    if test_config:
        app.config.from_mapping(test_config)
    app.extensions["coproduce.settings"] = settings
    app.extensions["coproduce.login_throttle"] = LoginThrottle(settings.login_attempts_per_minute)

    # Our templates first, then the GOV.UK Frontend macros under their documented prefix.
    app.jinja_loader = ChoiceLoader(
        [
            PackageLoader("webui"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.jinja_env.globals["coproduce_version"] = __version__

    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db.init_app(app, settings)
    security.init_app(app)
    assets.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    navigation.init_app(app)
    selects.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(projects.bp)
    app.register_blueprint(findings.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(runs.bp)
    app.register_blueprint(themes.bp)
    app.register_blueprint(agreement.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(easyread.bp)
    app.register_blueprint(reports.bp)
    app.add_url_rule("/", endpoint="index", view_func=projects.home)
    return app


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 5000,
    *,
    debug: bool = False,
    upgrade_schema: bool = True,
) -> None:
    """Run the web UI on Werkzeug's built-in server (single machine, no extra packages).

    The schema is brought up to date first (safe to repeat). Behind HTTPS, set the
    ``secure_cookies`` setting so the session cookie is never sent in clear.
    """
    from werkzeug.serving import run_simple

    from coproduce.store.db import make_engine
    from coproduce.store.schema import upgrade
    from webui.search import warm_embedder

    if upgrade_schema:
        engine = make_engine(settings)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
    app = create_app(settings=settings)
    warm_embedder(app)
    run_simple(host, port, app, threaded=True, use_reloader=debug, use_debugger=debug)
