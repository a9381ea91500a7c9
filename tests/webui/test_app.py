"""The application factory, the secret key, the assets and the dev server entry point."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask import Flask
from flask import request as flask_request
from sqlalchemy import Engine

import webui
from coproduce.config import Settings
from coproduce.services.access import LoginThrottle, throttle_keys
from coproduce.store.db import make_engine
from coproduce.store.schema import current_revision, head_revision
from webui import assets, create_app


def test_secret_key_is_made_once_and_kept_private(settings: Settings, engine: Engine) -> None:
    first = create_app(settings=settings)
    key_file = settings.instance_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = create_app(settings=settings)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 64
    for app in (first, second):
        app.extensions["coproduce.engine"].dispose()


def test_secret_key_from_settings_wins(settings: Settings, engine: Engine) -> None:
    app = create_app(settings=settings.with_overrides(secret_key="from-settings"))
    assert app.config["SECRET_KEY"] == "from-settings"
    assert not (settings.instance_dir / "secret_key").exists()
    app.extensions["coproduce.engine"].dispose()


def test_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, empty_database: Settings
) -> None:
    monkeypatch.setenv("COPRODUCE_INSTANCE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("COPRODUCE_LOGIN_ATTEMPTS_PER_MINUTE", "3")
    app = create_app()
    assert app.extensions["coproduce.settings"].instance_dir == tmp_path / "from-env"
    assert app.extensions["coproduce.login_throttle"].limit == 3
    app.extensions["coproduce.engine"].dispose()


def test_secure_cookie_settings(app: Flask) -> None:
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False  # the secure_cookies setting turns it on
    assert app.jinja_env.autoescape is True


def test_runs_without_built_assets(settings: Settings, engine: Engine) -> None:
    app = create_app({"GOVUK_ASSETS_BUILT": False}, settings=settings)
    page = app.test_client().get("/sign-in").get_data(as_text=True)
    assert "/static/fallback.css" in page
    assert "govuk-frontend.min.css" not in page
    assert "app.js" not in page
    app.extensions["coproduce.engine"].dispose()


def test_built_assets_are_linked_and_served(
    settings: Settings, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = tmp_path / "govuk"
    (built / "assets" / "fonts").mkdir(parents=True)
    (built / "govuk-frontend.min.css").write_text("body{}")
    (built / "govuk-frontend.min.js").write_text("export{}")
    (built / "assets" / "fonts" / "light.woff2").write_bytes(b"font")
    monkeypatch.setattr(assets, "GOVUK_DIR", built)
    assert assets.built(built)
    app = create_app({"GOVUK_ASSETS_BUILT": True}, settings=settings)
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/govuk/govuk-frontend.min.css">' in page
    assert '<script type="module" src="/static/app.js"></script>' in page
    with client.get("/assets/fonts/light.woff2") as font:
        assert font.status_code == 200
        assert font.data == b"font"
    with client.get("/assets/../govuk-frontend.min.css") as escape:
        assert escape.status_code == 404
    app.extensions["coproduce.engine"].dispose()


def test_serve_upgrades_the_schema_then_runs_werkzeug(
    empty_database: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = empty_database
    calls: dict[str, object] = {}

    def fake_run_simple(host: str, port: int, app: Flask, **options: object) -> None:
        calls.update(host=host, port=port, app=app, **options)
        app.extensions["coproduce.engine"].dispose()

    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    webui.serve(settings.with_overrides(secure_cookies=True), "127.0.0.1", 5055)
    assert calls["host"] == "127.0.0.1"
    assert calls["port"] == 5055
    assert calls["use_debugger"] is False
    assert calls["app"].config["SESSION_COOKIE_SECURE"] is True  # type: ignore[attr-defined]
    engine = make_engine(settings)
    assert current_revision(engine) == head_revision()
    engine.dispose()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_trusted_proxies_setting_uses_the_forwarded_client_address(settings: Settings) -> None:
    app = webui.create_app({"TESTING": True}, settings=settings.with_overrides(trusted_proxies=1))
    seen: list[str | None] = []
    app.add_url_rule("/whoami", "whoami", lambda: seen.append(flask_request.remote_addr) or "ok")
    app.test_client().get(
        "/whoami", headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert seen == ["203.0.113.7"]
    app.extensions["coproduce.engine"].dispose()


def test_throttle_is_a_sliding_window() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(limit=2, window_seconds=60, clock=clock)
    keys = throttle_keys("A@Example.org ", "10.0.0.1")
    assert keys == ("account:a@example.org", "address:10.0.0.1")
    throttle.record_failure(keys)
    clock.now += 30
    throttle.record_failure(keys)
    assert throttle.blocked(keys)
    assert throttle.blocked([keys[1]])
    clock.now += 31  # the first failure has left the window
    assert not throttle.blocked(keys)
    throttle.clear(keys[0])
    assert not throttle.blocked([keys[0]])


def test_throttle_refuses_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LoginThrottle(limit=0)
