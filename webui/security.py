"""Secret key, CSRF, and the security headers every response carries.

The headers follow the OWASP Secure Headers Project's recommendations. They are set here rather than
by Flask-Talisman: the policy is a dozen lines, the CSP nonce is already the one GOV.UK Frontend's
template reads (``cspNonce``), and the session cookie flags are plain Flask configuration
(``webui.create_app``). ``tests/webui/test_security_headers.py`` checks every route carries them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, Response, current_app, g, request
from flask_wtf import CSRFProtect

csrf = CSRFProtect()

SECRET_KEY_FILE = "secret_key"
HSTS = "max-age=31536000; includeSubDomains"
# Browser features no page here uses, turned off for this site and anything it could embed.
# Only features Chromium recognises: an unknown name is reported as a console error.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
)
# Files under these endpoints are the same for everyone (stylesheets, scripts, fonts): cacheable.
PUBLIC_ENDPOINTS = ("static", "assets")


def instance_secret_key(instance_dir: Path) -> str:
    """The random key kept in ``<instance_dir>/secret_key`` (mode 0600), made on first use."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / SECRET_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
        if key:
            return key
        raise RuntimeError(f"{path} is empty; delete it to have a new key made") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key


def csp_nonce() -> str:
    """A fresh nonce per response, for the one inline script GOV.UK Frontend's template needs."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str, https: bool = False) -> str:
    """No inline script or style without the nonce, nothing from other sites, no framing, no plugins."""
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-src 'none'",
        "worker-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    if https:
        directives.append("upgrade-insecure-requests")
    return "; ".join(directives)


def add_security_headers(response: Response) -> Response:
    https = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(csp_nonce(), https)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Cross-Origin-Embedder-Policy"] = "require-corp"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["X-Permitted-Cross-Domain-Policies"] = "none"
    headers["X-XSS-Protection"] = "0"  # OWASP: the old filter is off; the CSP does that job
    if https:
        # Served behind HTTPS (the secure_cookies setting): browsers must never use plain HTTP again.
        headers["Strict-Transport-Security"] = HSTS
    if request.endpoint not in PUBLIC_ENDPOINTS:
        # Pages and downloads carry respondents' words: keep them out of shared and back-button caches.
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.after_request(add_security_headers)
    app.context_processor(lambda: {"cspNonce": csp_nonce()})
