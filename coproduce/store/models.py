"""The data model: from one respondent's sentence to a panel's sign-off.

SQLAlchemy 2.0 typed models. Every human or model decision is a row saying who or what made
it and when. The schema is created only by the Alembic migrations in ``migrations/``; a test
checks that upgrading an empty database gives exactly these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Closed vocabularies, checked in the database as well as in the services.
MEMBERSHIP_ROLES = ("admin", "analyst", "parent_carer", "young_person", "professional", "observer")
PANEL_ROLES = ("parent_carer", "young_person", "professional")
ORIGINS = ("model", "human")
ASSIGNMENT_STATUSES = ("suggested", "accepted", "rejected")
FINDING_STATUSES = ("draft", "in_review", "signed_off", "reopened")
FINDING_KINDS = ("question_summary", "question_code", "standard", "emerging_theme")
SIGNOFF_DECISIONS = ("approve", "approve_with_comment", "dissent")
REVIEW_ACTIONS = ("accept", "reject", "recode", "add")
RUN_STATUSES = ("running", "finished", "failed", "cancelled", "interrupted")
JOB_STATUSES = ("queued", "running", "finished", "failed", "cancelled", "interrupted")
FLAG_STATUSES = ("open", "reviewed")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# ---------------------------------------------------------------- frameworks


class Framework(Base):
    __tablename__ = "framework"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_framework_name_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text, default="")
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    questions: Mapped[list[Question]] = relationship(back_populates="framework", order_by="Question.number")
    standards: Mapped[list[Standard]] = relationship(back_populates="framework")
    groups: Mapped[list[CodeGroup]] = relationship(back_populates="framework")
    codes: Mapped[list[Code]] = relationship(back_populates="framework")
    stances: Mapped[list[Stance]] = relationship(back_populates="framework")


class Question(Base):
    __tablename__ = "question"
    __table_args__ = (
        UniqueConstraint("framework_id", "number", name="uq_question_framework_number"),
        _one_of("answer_type", ("open", "scale", "yes-no"), "answer_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    answer_type: Mapped[str] = mapped_column(String(10), default="open")
    options: Mapped[list[Any]] = mapped_column(default=list)
    alternative_wordings: Mapped[list[Any]] = mapped_column(default=list)
    chapter: Mapped[str | None] = mapped_column(String(50))

    framework: Mapped[Framework] = relationship(back_populates="questions")


class Standard(Base):
    __tablename__ = "standard"
    __table_args__ = (UniqueConstraint("framework_id", "key", name="uq_standard_framework_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")

    framework: Mapped[Framework] = relationship(back_populates="standards")


class CodeGroup(Base):
    __tablename__ = "code_group"
    __table_args__ = (UniqueConstraint("framework_id", "key", name="uq_code_group_framework_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("code_group.id"))
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(Text)

    framework: Mapped[Framework] = relationship(back_populates="groups")
    parent: Mapped[CodeGroup | None] = relationship(remote_side="CodeGroup.id")


code_standard = Table(
    "code_standard",
    Base.metadata,
    Column("code_id", ForeignKey("code.id", ondelete="CASCADE"), primary_key=True),
    Column("standard_id", ForeignKey("standard.id", ondelete="CASCADE"), primary_key=True),
)


class Code(Base):
    __tablename__ = "code"
    __table_args__ = (UniqueConstraint("framework_id", "key", name="uq_code_framework_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("code_group.id"))
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    examples: Mapped[list[Any]] = mapped_column(default=list)

    framework: Mapped[Framework] = relationship(back_populates="codes")
    group: Mapped[CodeGroup | None] = relationship()
    standards: Mapped[list[Standard]] = relationship(secondary=code_standard)


class Stance(Base):
    __tablename__ = "stance"
    __table_args__ = (UniqueConstraint("framework_id", "key", name="uq_stance_framework_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(50))
    label: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")

    framework: Mapped[Framework] = relationship(back_populates="stances")


# ---------------------------------------------------------------- people and projects


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Project(Base):
    __tablename__ = "project"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    framework_id: Mapped[int] = mapped_column(ForeignKey("framework.id"), index=True)
    safeguarding_lead_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # When a finding counts as signed off, e.g. {"require_roles": ["parent_carer", "young_person", "professional"]}.
    signoff_rule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Erase respondents whose responses were imported more than this many days ago; None keeps them
    # (the settings' default_retention_days applies). See services.retention.
    retention_days: Mapped[int | None] = mapped_column(Integer)

    framework: Mapped[Framework] = relationship()
    safeguarding_lead: Mapped[User | None] = relationship()


class Panel(Base):
    __tablename__ = "panel"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "project_id", name="uq_membership_user_project"),
        _one_of("role", MEMBERSHIP_ROLES, "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panel.id"))
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship()
    project: Mapped[Project] = relationship()
    panel: Mapped[Panel | None] = relationship()


# ---------------------------------------------------------------- imported data


class Source(Base):
    """One imported file. Re-importing the same bytes (same sha256) into a project changes nothing."""

    __tablename__ = "source"
    __table_args__ = (UniqueConstraint("project_id", "sha256", name="uq_source_project_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    importer: Mapped[str] = mapped_column(String(50))
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    imported_by_label: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. the column mapping used
    rejected: Mapped[list[Any]] = mapped_column(default=list)  # what the importer could not take, and why


class Respondent(Base):
    __tablename__ = "respondent"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(200))
    respondent_type: Mapped[str] = mapped_column(String(50), default="unknown")
    age: Mapped[int | None] = mapped_column(Integer)
    age_band: Mapped[str | None] = mapped_column(String(50))
    setting: Mapped[str | None] = mapped_column(String(200))
    communication_method: Mapped[str | None] = mapped_column(String(50))
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    area: Mapped[str | None] = mapped_column(String(200))
    consent_to_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    responses: Mapped[list[Response]] = relationship(back_populates="respondent")


class Response(Base):
    """A respondent's answer to one question. ``original_text`` is readable by admins only."""

    __tablename__ = "response"

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondent.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"), index=True)
    original_text: Mapped[str | None] = mapped_column(Text)
    redacted_text: Mapped[str | None] = mapped_column(Text)
    redactions: Mapped[list[Any]] = mapped_column(default=list)  # [{type, start, end, score}] in original_text
    scale_answer: Mapped[str | None] = mapped_column(String(100))
    closed_answer: Mapped[str | None] = mapped_column(String(300))
    location: Mapped[str] = mapped_column(String(200), default="")

    respondent: Mapped[Respondent] = relationship(back_populates="responses")
    question: Mapped[Question | None] = relationship()
    segments: Mapped[list[Segment]] = relationship(back_populates="response", order_by="Segment.position")
    flags: Mapped[list[SafeguardingFlag]] = relationship(back_populates="response")


class Segment(Base):
    """A character span of a response's redacted text: the unit that gets coded."""

    __tablename__ = "segment"
    __table_args__ = (UniqueConstraint("response_id", "position", name="uq_segment_response_position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    stance_id: Mapped[int | None] = mapped_column(ForeignKey("stance.id"))
    stance_origin: Mapped[str | None] = mapped_column(String(10))

    response: Mapped[Response] = relationship(back_populates="segments")
    stance: Mapped[Stance | None] = relationship()


class SafeguardingFlag(Base):
    """A passage that may be a safeguarding disclosure, for the project's safeguarding lead. Never hidden."""

    __tablename__ = "safeguarding_flag"
    __table_args__ = (_one_of("status", FLAG_STATUSES, "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(50))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    response: Mapped[Response] = relationship(back_populates="flags")


# ---------------------------------------------------------------- analysis


class AnalysisRun(Base):
    __tablename__ = "analysis_run"
    __table_args__ = (_one_of("status", RUN_STATUSES, "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    config_hash: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    models: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> {version, sha256, source}
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # stage -> seconds
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)  # counts of what was made
    unprocessed: Mapped[dict[str, Any]] = mapped_column(default=dict)  # stage -> [{item, reason}]
    error: Mapped[str] = mapped_column(Text, default="")
    # Live progress for the UI: {"stage": "embed", "done": 120, "total": 480}.
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by_label: Mapped[str] = mapped_column(String(200), default="")


theme_segment = Table(
    "theme_segment",
    Base.metadata,
    Column("theme_id", ForeignKey("theme.id", ondelete="CASCADE"), primary_key=True),
    Column("segment_id", ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True),
)


class Theme(Base):
    __tablename__ = "theme"
    __table_args__ = (_one_of("origin", ORIGINS, "origin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    analysis_run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("code.id"))  # set when the theme matches a code
    key: Mapped[str] = mapped_column(String(100), default="")  # the theme finder's id within its run
    label: Mapped[str] = mapped_column(Text)
    representative: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[Any]] = mapped_column(default=list)  # quality-rule notes
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    origin: Mapped[str] = mapped_column(String(10), default="model")
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking for concurrent editors
    # Who last changed it, so a second editor is told whose change they would overwrite.
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Keys of model themes people merged into this one: a re-run must not bring them back.
    absorbed_keys: Mapped[list[Any]] = mapped_column(default=list)

    segments: Mapped[list[Segment]] = relationship(secondary=theme_segment)
    __mapper_args__ = {"version_id_col": version}


class CodeAssignment(Base):
    """A code on a segment or a whole response, suggested by the model or made by a person."""

    __tablename__ = "code_assignment"
    __table_args__ = (
        CheckConstraint("segment_id IS NOT NULL OR response_id IS NOT NULL", name="target"),
        _one_of("origin", ORIGINS, "origin"),
        _one_of("status", ASSIGNMENT_STATUSES, "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("code.id"), index=True)
    origin: Mapped[str] = mapped_column(String(10))
    analysis_run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="suggested")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    code: Mapped[Code] = relationship()
    segment: Mapped[Segment | None] = relationship()


class Finding(Base):
    __tablename__ = "finding"
    __table_args__ = (
        _one_of("status", FINDING_STATUSES, "status"),
        _one_of("kind", FINDING_KINDS, "kind"),
        UniqueConstraint("project_id", "key", name="uq_finding_project_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))  # stable across runs, e.g. "q6:code:MED"
    kind: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    analysis_run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id"))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    standard_id: Mapped[int | None] = mapped_column(ForeignKey("standard.id"))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("code.id"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id"))
    statement: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)  # counts, shares, stance split, quotes
    you_said_we_did: Mapped[str] = mapped_column(Text, default="")
    segments: Mapped[list[Segment]] = relationship(secondary="finding_segment")
    status: Mapped[str] = mapped_column(String(12), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)

    __mapper_args__ = {"version_id_col": version}


finding_segment = Table(
    "finding_segment",
    Base.metadata,
    Column("finding_id", ForeignKey("finding.id", ondelete="CASCADE"), primary_key=True),
    Column("segment_id", ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True),
)


class Campaign(Base):
    """Respondents whose responses are near-identical: a template or campaign, counted apart."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    analysis_run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    respondent_ids: Mapped[list[Any]] = mapped_column(default=list)
    example: Mapped[str] = mapped_column(Text, default="")  # redacted
    similarity: Mapped[float] = mapped_column(Float, default=0.0)


# ---------------------------------------------------------------- review and sign-off


class ReviewDecision(Base):
    __tablename__ = "review_decision"
    __table_args__ = (_one_of("action", REVIEW_ACTIONS, "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), index=True)
    code_assignment_id: Mapped[int | None] = mapped_column(ForeignKey("code_assignment.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(10))
    from_code_id: Mapped[int | None] = mapped_column(ForeignKey("code.id"))
    to_code_id: Mapped[int | None] = mapped_column(ForeignKey("code.id"))
    blind: Mapped[bool] = mapped_column(Boolean, default=False)  # part of a blind double-coding sample
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SignOff(Base):
    __tablename__ = "sign_off"
    __table_args__ = (_one_of("decision", SIGNOFF_DECISIONS, "decision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # the signer's panel role at the time
    decision: Mapped[str] = mapped_column(String(25))
    comment: Mapped[str] = mapped_column(Text, default="")
    finding_version: Mapped[int] = mapped_column(Integer)  # a change to the finding reopens it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CodingTask(Base):
    """One segment given to one panel member to code blind, as part of a double-coding sample."""

    __tablename__ = "coding_task"
    __table_args__ = (
        UniqueConstraint("sample_key", "segment_id", "user_id", name="uq_coding_task_sample_segment_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    sample_key: Mapped[str] = mapped_column(String(100))  # one sample drawn by an analyst
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)  # set even when the coder chose no code

    segment: Mapped[Segment] = relationship()


class SegmentSeen(Base):
    """That a person has looked at a segment in review: drives the "unseen by me" filter."""

    __tablename__ = "segment_seen"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Notification(Base):
    """An in-app message, e.g. that a finding someone signed off has changed and is reopened."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("finding.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEvent(Base):
    """Append-only record of every change: who, when, what, before, after. Never updated or deleted."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(200))  # e.g. "alice@example.org", "cli:root", "model"
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Hash chain (store/audit_chain.py): sha256 of before/after, and of the previous event's chain_hash
    # with this event's fields and payload_digest. Erasure may blank before/after (payload_erased_at)
    # but keeps payload_digest, so the chain still verifies.
    payload_digest: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    chain_hash: Mapped[str | None] = mapped_column(String(64))
    payload_erased_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditChainHead(Base):
    """The last event of the audit hash chain: one row, locked by each writer so the chain never forks,
    and compared with the last event so that deleting events at the end is detected."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer, default=0)


# ---------------------------------------------------------------- background jobs


class Job(Base):
    """One piece of background work (an import, an analysis, reports), shared by the web app and the
    queue workers: the queue only carries the job id; what to run, its state and its progress live here."""

    __tablename__ = "job"
    __table_args__ = (_one_of("status", JOB_STATUSES, "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    kind: Mapped[str] = mapped_column(String(40))  # "analysis", "import", "report"
    key: Mapped[str | None] = mapped_column(String(200), index=True)
    # Equals ``key`` while the job is queued or running, else NULL: the unique constraint allows one active
    # job per key (NULLs never clash) on SQLite and PostgreSQL alike.
    active_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    function: Mapped[str] = mapped_column(String(200))  # "package.module:function"
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)  # JSON keyword arguments
    resumable: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    stage: Mapped[str] = mapped_column(String(40), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_by_label: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # times a worker started it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    worker_id: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)


class JobWorker(Base):
    """A queue worker process, so a page can tell whether anyone will pick a queued job up."""

    __tablename__ = "job_worker"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid:random
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime)
