"""Store a framework in the database and read it back as plain data for the pipeline and importers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce.errors import BadInputError
from coproduce.frameworks.model import (
    CodeGroupSpec,
    CodeSpec,
    FrameworkSpec,
    QuestionSpec,
    StanceSpec,
    StandardSpec,
)
from coproduce.store.models import Code, CodeGroup, Framework, Question, Stance, Standard


def spec_sha256(spec: FrameworkSpec) -> str:
    return hashlib.sha256(json.dumps(asdict(spec), sort_keys=True, default=list).encode()).hexdigest()


def store_framework(session: Session, spec: FrameworkSpec) -> Framework:
    """The stored framework for ``spec``, adding it if new. A changed framework needs a new version."""
    digest = spec_sha256(spec)
    existing = session.scalar(select(Framework).where(Framework.name == spec.name, Framework.version == spec.version))
    if existing is not None:
        if existing.source_sha256 != digest:
            raise BadInputError(
                f"framework {spec.name!r} version {spec.version} is already stored with different content",
                field="version",
                hint="Give the changed framework a new version number",
            )
        return existing
    framework = Framework(
        name=spec.name,
        version=spec.version,
        description=spec.description,
        source_sha256=digest,
        provenance=dict(spec.provenance),
    )
    session.add(framework)
    session.flush()
    for q in spec.questions:
        session.add(
            Question(
                framework_id=framework.id,
                number=q.number,
                text=q.text,
                answer_type=q.answer_type,
                options=list(q.options),
                alternative_wordings=list(q.alternative_wordings),
                chapter=q.chapter,
            )
        )
    standards = {
        s.id: Standard(framework_id=framework.id, key=s.id, label=s.label, description=s.description)
        for s in spec.standards
    }
    session.add_all(standards.values())
    groups = {g.id: CodeGroup(framework_id=framework.id, key=g.id, label=g.label) for g in spec.groups}
    session.add_all(groups.values())
    session.flush()
    for g in spec.groups:
        if g.parent:
            groups[g.id].parent_id = groups[g.parent].id
    for c in spec.codes:
        session.add(
            Code(
                framework_id=framework.id,
                group_id=groups[c.group].id,
                key=c.id,
                label=c.label,
                description=c.description,
                examples=list(c.examples),
                standards=[standards[s] for s in c.standards],
            )
        )
    session.add_all(
        Stance(framework_id=framework.id, key=s.id, label=s.label, description=s.description) for s in spec.stances
    )
    session.flush()
    return framework


def spec_from_db(session: Session, framework: Framework) -> FrameworkSpec:
    """The stored framework as plain data (what importers and pipeline stages take)."""
    groups = list(session.scalars(select(CodeGroup).where(CodeGroup.framework_id == framework.id)))
    group_keys = {g.id: g.key for g in groups}
    codes = session.scalars(select(Code).where(Code.framework_id == framework.id).order_by(Code.id))
    return FrameworkSpec(
        name=framework.name,
        version=framework.version,
        description=framework.description,
        questions=tuple(
            QuestionSpec(q.number, q.text, q.answer_type, tuple(q.options), tuple(q.alternative_wordings), q.chapter)
            for q in framework.questions
        ),
        standards=tuple(
            StandardSpec(s.key, s.label, s.description) for s in sorted(framework.standards, key=lambda s: s.id)
        ),
        groups=tuple(
            CodeGroupSpec(g.key, g.label, group_keys.get(g.parent_id) if g.parent_id else None)
            for g in sorted(groups, key=lambda g: g.id)
        ),
        codes=tuple(
            CodeSpec(
                c.key,
                c.label,
                group_keys.get(c.group_id, ""),
                c.description,
                tuple(c.examples),
                tuple(s.key for s in c.standards),
            )
            for c in codes
        ),
        stances=tuple(StanceSpec(s.key, s.label, s.description) for s in sorted(framework.stances, key=lambda s: s.id)),
        provenance=dict(framework.provenance),
    )
