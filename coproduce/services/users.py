"""Accounts and project memberships, shared by the CLI and the web UI."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor, record
from coproduce.store.models import MEMBERSHIP_ROLES, Membership, Project, User

_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session, actor: Actor, email: str, display_name: str, password: str, *, site_admin: bool = False
) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise BadInputError(f"{email!r} is not an email address", field="email", hint="Give a full address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInputError(
            f"password is shorter than {MIN_PASSWORD_LENGTH} characters",
            field="password",
            hint="Choose a longer password (a few random words works well)",
        )
    if session.scalar(select(User).where(User.email == email)) is not None:
        raise BadInputError(f"a user with email {email} already exists", field="email")
    user = User(
        email=email,
        display_name=display_name.strip() or email,
        password_hash=hash_password(password),
        is_site_admin=site_admin,
    )
    session.add(user)
    session.flush()
    record(session, actor, "user.create", "user", user.id, after={"email": email, "site_admin": site_admin})
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, or None. Rehashes old-parameter hashes."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active:
        _hasher.hash(password)  # spend the same time whether or not the account exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def add_member(session: Session, actor: Actor, project: Project, user: User, role: str) -> Membership:
    if role not in MEMBERSHIP_ROLES:
        raise BadInputError(f"unknown role {role!r}", field="role", hint=f"Use one of: {', '.join(MEMBERSHIP_ROLES)}")
    membership = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.project_id == project.id)
    )
    before = {"role": membership.role} if membership else None
    if membership is None:
        membership = Membership(user_id=user.id, project_id=project.id, role=role)
        session.add(membership)
    membership.role = role
    session.flush()
    record(
        session,
        actor,
        "membership.set",
        "membership",
        membership.id,
        project_id=project.id,
        before=before,
        after={"user": user.email, "role": role},
    )
    return membership


def role_in(session: Session, user: User, project: Project) -> str | None:
    """The user's role in the project, or None if they are not a member."""
    return session.scalar(
        select(Membership.role).where(Membership.user_id == user.id, Membership.project_id == project.id)
    )


def projects_for(session: Session, user: User) -> list[Project]:
    """Projects the user belongs to (site admins see every project)."""
    query = select(Project).order_by(Project.name)
    if not user.is_site_admin:
        query = query.join(Membership, Membership.project_id == Project.id).where(Membership.user_id == user.id)
    return list(session.scalars(query))
