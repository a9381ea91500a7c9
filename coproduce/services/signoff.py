"""Panel sign-off: who may sign a finding, what counts, and when a finding is signed off.

A project's rule (``Project.signoff_rule``) says how many current approvals each panel role must give:

    {"require_roles": {"parent_carer": 1, "young_person": 1, "professional": 1}}

A list of roles (``{"require_roles": ["parent_carer", "professional"]}``) means one approval from each.
An empty rule is the default: one parent carer, one young person and one professional.

A signature belongs to the finding version it was given to: once the finding changes (a new
version), earlier signatures stop counting, but they stay on record. Signing again replaces one's
own earlier signature for the same version; the rows are never deleted, the newest counts. A
dissent never blocks or undoes a sign-off, and it stays visible on the finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor, record
from coproduce.services.findings import check_version
from coproduce.services.users import role_in
from coproduce.store.models import PANEL_ROLES, SIGNOFF_DECISIONS, Finding, Project, SignOff, User

DEFAULT_RULE: dict[str, Any] = {"require_roles": {role: 1 for role in PANEL_ROLES}}
MAX_PER_ROLE = 50
MAX_COMMENT = 5000
DECISION_LABELS = {
    "approve": "Approve",
    "approve_with_comment": "Approve with a comment",
    "dissent": "Dissent",
}


class SignOffRefusedError(BadInputError):
    """The person may not sign this finding (they hold no panel role in its project)."""


def normalise_rule(rule: dict[str, Any] | None) -> dict[str, int]:
    """``{role: approvals needed}`` for a stored or submitted rule; raises BadInputError if it is not valid."""
    if not rule:
        rule = DEFAULT_RULE
    if not isinstance(rule, dict) or set(rule) - {"require_roles"}:
        raise BadInputError("a sign-off rule has one key, require_roles", field="require_roles", hint=_RULE_HINT)
    roles = rule.get("require_roles")
    if isinstance(roles, list | tuple):
        if len(set(roles)) != len(roles):
            raise BadInputError("a role is listed twice", field="require_roles", hint=_RULE_HINT)
        roles = dict.fromkeys(roles, 1)
    if not isinstance(roles, dict):
        raise BadInputError("require_roles must be a list of roles or a role -> number map", field="require_roles")
    needed: dict[str, int] = {}
    for role, count in roles.items():
        if role not in PANEL_ROLES:
            raise BadInputError(f"{role!r} is not a panel role", field=f"require_{role}", hint=_RULE_HINT)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_PER_ROLE:
            raise BadInputError(
                f"the number of {role} approvals must be a whole number from 0 to {MAX_PER_ROLE}",
                field=f"require_{role}",
            )
        if count:
            needed[role] = count
    if not needed:
        raise BadInputError(
            "the rule must ask for at least one approval", field="require_parent_carer", hint=_RULE_HINT
        )
    return {role: needed[role] for role in PANEL_ROLES if role in needed}


_RULE_HINT = f"Ask for a number of approvals from one or more of: {', '.join(PANEL_ROLES)}"


def rule_of(project: Project) -> dict[str, int]:
    return normalise_rule(project.signoff_rule)


def describe_rule(needed: dict[str, int]) -> str:
    """The rule in words, e.g. "Approval from at least 1 parent carer, 1 young person and 1 professional"."""
    parts = [f"{n} {_ROLE_WORDS[role][0 if n == 1 else 1]}" for role, n in needed.items()]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Approval from at least {listed}, on the current version of the finding."


_ROLE_WORDS = {
    "parent_carer": ("parent carer", "parent carers"),
    "young_person": ("young person", "young people"),
    "professional": ("professional", "professionals"),
}


def set_rule(session: Session, actor: Actor, project: Project, rule: dict[str, Any]) -> list[Finding]:
    """Replace the project's sign-off rule (admins); returns the findings whose status changed under it."""
    needed = normalise_rule(rule)
    before = rule_of(project)
    if needed == before and project.signoff_rule:
        return []
    project.signoff_rule = {"require_roles": needed}
    session.flush()
    record(
        session,
        actor,
        "project.signoff_rule",
        "project",
        project.id,
        project_id=project.id,
        before={"require_roles": before},
        after={"require_roles": needed},
    )
    changed = []
    for finding in session.scalars(select(Finding).where(Finding.project_id == project.id).order_by(Finding.id)):
        if _recompute(session, actor, finding, needed, reason="sign-off rule changed"):
            changed.append(finding)
    return changed


# ---------------------------------------------------------------- signing


def sign(
    session: Session,
    actor: Actor,
    user: User,
    finding: Finding,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> SignOff:
    """Record ``user``'s decision on the current version of ``finding`` and update its status."""
    project = session.get(Project, finding.project_id)
    assert project is not None
    role = role_in(session, user, project)
    if role not in PANEL_ROLES:
        raise SignOffRefusedError(
            "only panel members (parent carers, young people and professionals) can sign off findings",
            field="decision",
        )
    if decision not in SIGNOFF_DECISIONS:
        raise BadInputError("choose approve, approve with a comment, or dissent", field="decision")
    comment = (comment or "").strip()
    if decision == "approve_with_comment" and not comment:
        raise BadInputError("enter your comment", field="comment", hint="Say what you want noted with your approval")
    if decision == "dissent" and not comment:
        raise BadInputError("enter the reason you dissent", field="comment", hint="Say what you disagree with")
    if len(comment) > MAX_COMMENT:
        raise BadInputError(f"your comment must be {MAX_COMMENT} characters or fewer", field="comment")
    check_version(finding, expected_version)

    previous = _current(session, finding).get(user.id)
    signature = SignOff(
        finding_id=finding.id,
        user_id=user.id,
        role=role,
        decision=decision,
        comment=comment,
        finding_version=finding.version,
    )
    session.add(signature)
    session.flush()
    record(
        session,
        actor,
        "signoff.replace" if previous else "signoff.give",
        "sign_off",
        signature.id,
        project_id=finding.project_id,
        before=_signature_summary(previous) if previous else None,
        after={"finding_id": finding.id, **_signature_summary(signature)},
    )
    _recompute(session, actor, finding, rule_of(project), reason=f"{DECISION_LABELS[decision].lower()} by {role}")
    return signature


def _signature_summary(signature: SignOff) -> dict[str, Any]:
    return {
        "role": signature.role,
        "decision": signature.decision,
        "comment": signature.comment,
        "finding_version": signature.finding_version,
    }


def _current(session: Session, finding: Finding, version: int | None = None) -> dict[int, SignOff]:
    """The newest signature per person for one version of the finding (its current version by default)."""
    version = finding.version if version is None else version
    rows = session.scalars(
        select(SignOff)
        .where(SignOff.finding_id == finding.id, SignOff.finding_version == version)
        .order_by(SignOff.created_at, SignOff.id)
    )
    return {s.user_id: s for s in rows}


def _missing(needed: dict[str, int], current: Iterable[SignOff]) -> dict[str, int]:
    approvals: dict[str, int] = {}
    for s in current:
        if s.decision != "dissent":
            approvals[s.role] = approvals.get(s.role, 0) + 1
    return {role: n - approvals.get(role, 0) for role, n in needed.items() if approvals.get(role, 0) < n}


def _recompute(session: Session, actor: Actor, finding: Finding, needed: dict[str, int], reason: str) -> bool:
    """Set the status the signatures on the current version call for; True when it changed.

    The status is written without bumping the finding's version: signing is not a change to the
    finding, and two panel members signing at once must not stop each other.
    """
    current = list(_current(session, finding).values())
    if current and not _missing(needed, current):
        status = "signed_off"
    elif current:
        status = "in_review"
    else:
        status = "in_review" if finding.status == "signed_off" else finding.status
    if status == finding.status:
        return False
    before = finding.status
    session.execute(update(Finding.__table__).where(Finding.__table__.c.id == finding.id).values(status=status))
    set_committed_value(finding, "status", status)
    record(
        session,
        actor,
        "finding.status",
        "finding",
        finding.id,
        project_id=finding.project_id,
        before={"status": before},
        after={"status": status, "reason": reason, "version": finding.version},
    )
    return True


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Signature:
    user_id: int
    name: str
    role: str
    decision: str
    comment: str
    finding_version: int
    at: datetime


@dataclass(frozen=True)
class SignOffState:
    """Where a finding stands: plain data for the finding page and for reports."""

    status: str
    version: int
    rule: dict[str, int]  # role -> approvals needed
    rule_text: str
    approvals: dict[str, list[Signature]]  # role -> current approvals of the current version
    dissents: list[Signature]  # current dissents on the current version
    earlier_dissents: list[Signature]  # dissents given to earlier versions: never hidden
    earlier: list[Signature]  # approvals given to earlier versions, which no longer count
    needed: dict[str, int]  # role -> approvals still needed
    met: bool
    signatures: list[Signature] = field(default_factory=list)  # every current signature, oldest first

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def signoff_state(session: Session, finding: Finding) -> SignOffState:
    project = session.get(Project, finding.project_id)
    assert project is not None
    needed = rule_of(project)
    rows = list(
        session.execute(
            select(SignOff, User.display_name)
            .join(User, SignOff.user_id == User.id)
            .where(SignOff.finding_id == finding.id)
            .order_by(SignOff.created_at, SignOff.id)
        )
    )
    newest: dict[tuple[int, int], SignOff] = {}
    names: dict[int, str] = {}
    for s, name in rows:
        newest[(s.finding_version, s.user_id)] = s
        names[s.user_id] = name
    current_rows = [s for (v, _), s in newest.items() if v == finding.version]
    current_rows.sort(key=lambda s: (s.created_at, s.id))

    def sig(s: SignOff) -> Signature:
        return Signature(s.user_id, names[s.user_id], s.role, s.decision, s.comment, s.finding_version, s.created_at)

    older = sorted((s for (v, _), s in newest.items() if v != finding.version), key=lambda s: (s.created_at, s.id))
    approvals = {role: [sig(s) for s in current_rows if s.role == role and s.decision != "dissent"] for role in needed}
    for s in current_rows:  # approvals from roles the rule does not ask for are still shown
        if s.decision != "dissent" and s.role not in approvals:
            approvals[s.role] = [sig(x) for x in current_rows if x.role == s.role and x.decision != "dissent"]
    missing = _missing(needed, current_rows)
    return SignOffState(
        status=finding.status,
        version=finding.version,
        rule=needed,
        rule_text=describe_rule(needed),
        approvals=approvals,
        dissents=[sig(s) for s in current_rows if s.decision == "dissent"],
        earlier_dissents=[sig(s) for s in older if s.decision == "dissent"],
        earlier=[sig(s) for s in older if s.decision != "dissent"],
        needed=missing,
        met=bool(current_rows) and not missing,
        signatures=[sig(s) for s in current_rows],
    )


def my_signature(session: Session, finding: Finding, user: User) -> SignOff | None:
    """``user``'s current signature on the current version, if any."""
    return _current(session, finding).get(user.id)
