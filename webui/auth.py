"""Sign in and sign out."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from coproduce.services.access import LoginThrottle, attempt_login, record_logout
from coproduce.store.models import User
from webui.db import get_session

bp = Blueprint("auth", __name__)
login_manager = LoginManager()

SIGN_IN_FAILED = "Enter a correct email address and password."
TOO_MANY_ATTEMPTS = "There have been too many failed sign-in attempts. Wait a minute, then try again."


@dataclass
class SignedInUser:
    """What Flask-Login keeps for a request: the account, looked up afresh on every request."""

    user: User

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.user.is_active

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def display_name(self) -> str:
        return self.user.display_name

    def get_id(self) -> str:
        return str(self.user.id)


def load_user(user_id: str) -> SignedInUser | None:
    if not user_id.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    if user is None or not user.is_active:
        return None
    return SignedInUser(user)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    # "strong": a session cookie replayed from another address or browser is dropped.
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)


class LoginForm(FlaskForm):
    email = StringField("Email address", validators=[DataRequired("Enter your email address"), Length(max=320)])
    # Argon2 hashes whatever it is given: a cap stops a huge password from tying up the server.
    password = PasswordField("Password", validators=[DataRequired("Enter your password"), Length(max=1024)])


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    failure: str | None = None
    if form.validate_on_submit():
        db = get_session()
        throttle: LoginThrottle = current_app.extensions["coproduce.login_throttle"]
        outcome = attempt_login(db, throttle, form.email.data or "", form.password.data or "", request.remote_addr)
        db.commit()
        if outcome.user is not None:
            target = safe_next(request.args.get("next"))
            session.clear()  # a fresh session: nothing set before sign-in survives it (fixation)
            session.permanent = True  # expires after session_lifetime_minutes without a request
            login_user(SignedInUser(outcome.user))
            return redirect(target or url_for("index"))
        failure = TOO_MANY_ATTEMPTS if outcome.throttled else SIGN_IN_FAILED
    status = 429 if failure == TOO_MANY_ATTEMPTS else 200
    return render_template("auth/login.html", form=form, failure=failure), status


@bp.post("/sign-out")
@login_required
def logout() -> ResponseReturnValue:
    db = get_session()
    record_logout(db, current_user.user)
    db.commit()
    logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
