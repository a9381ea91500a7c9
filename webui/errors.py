"""Error pages in GOV.UK style. A project someone may not see is a 404, never a hint it exists."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webui.db import close_session

PAGES: dict[int, tuple[str, str]] = {
    400: ("There is a problem with your request", "Go back and try again."),
    403: (
        "You cannot see this page",
        "Your role in this project does not include it. Ask a project admin if you need it.",
    ),
    404: (
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted it, check you copied all of it.",
    ),
    405: (
        "There is a problem with your request",
        "This page cannot be used that way. Go back and try again.",
    ),
    413: ("The file is too big", "Choose a smaller file."),
    429: ("Too many requests", "Wait a minute, then try again."),
    500: (
        "Sorry, there is a problem with the service",
        "Try again later. What you were doing has not been saved.",
    ),
}


def render_error(code: int, title: str | None = None, message: str | None = None) -> ResponseReturnValue:
    default_title, default_message = PAGES.get(code, PAGES[500] if code >= 500 else PAGES[400])
    return (
        render_template(
            "errors/error.html", code=code, title=title or default_title, message=message or default_message
        ),
        code,
    )


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    return render_error(error.code or 500)


def handle_csrf_error(_error: CSRFError) -> ResponseReturnValue:
    return render_error(
        400,
        "Your form could not be sent",
        "The page had expired or was opened in another session. Go back, reload the page and try again.",
    )


def handle_server_error(_error: InternalServerError) -> ResponseReturnValue:
    close_session()  # the failed request's session may be unusable; the error page needs none
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(HTTPException, handle_http_error)
