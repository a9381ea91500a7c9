"""Every number the report and the evidence pack print equals a count made here, straight from the tables.

Each printed figure carries ``data-figure`` (what it counts), ``data-value`` and, for a share,
``data-base``. The recount below does not use the findings' stored figures or any report code: it
counts respondents from responses, code assignments (a code is in force unless rejected), stances,
campaign groups, themes, memberships and review decisions. A figure with a name this test does not
know fails the test, so no number can slip through unchecked.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest
from lxml import html as lxml_html
from sqlalchemy import func, select

from coproduce.services.demo import DEMO_SLUG
from coproduce.services.projects import get_project
from coproduce.store.models import (
    Campaign,
    Code,
    CodeAssignment,
    Finding,
    Membership,
    Question,
    Respondent,
    Response,
    ReviewDecision,
    Segment,
    Stance,
    Standard,
    Theme,
    code_standard,
    theme_segment,
)

pytestmark = pytest.mark.slow


def figures_in(path) -> list[tuple[str, int, int | None]]:  # type: ignore[no-untyped-def]
    doc = lxml_html.fromstring(path.read_text(encoding="utf-8"))
    found = []
    for el in doc.xpath("//*[@data-figure]"):
        base = el.get("data-base")
        found.append((el.get("data-figure"), int(el.get("data-value")), int(base) if base is not None else None))
        assert el.text_content().startswith(el.get("data-value")), "the printed number is the counted one"
    return found


class Recount:
    """Counts made from the database rows, independently of the report code."""

    def __init__(self, session, project) -> None:  # type: ignore[no-untyped-def]
        pid = project.id
        self.respondent_type = dict(
            session.execute(select(Respondent.id, Respondent.respondent_type).where(Respondent.project_id == pid)).all()
        )
        responses = session.execute(
            select(Response.id, Response.respondent_id, Question.number, Response.redacted_text, Response.scale_answer)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .outerjoin(Question, Response.question_id == Question.id)
            .where(Respondent.project_id == pid)
        ).all()
        self.responses = len(responses)
        self.answered: dict[int, set[int]] = defaultdict(set)
        self.scale: dict[int, Counter[str]] = defaultdict(Counter)
        self.with_response = {r for _, r, _, _, _ in responses}
        for _, respondent, number, text, scale in responses:
            if (text or "").strip() or scale:
                self.answered[number].add(respondent)
            if scale:
                self.scale[number][scale] += 1
        latest = session.scalar(select(func.max(Campaign.analysis_run_id)).where(Campaign.project_id == pid))
        groups = list(
            session.scalars(
                select(Campaign.respondent_ids).where(Campaign.project_id == pid, Campaign.analysis_run_id == latest)
            )
        )
        self.campaigns = len(groups)
        self.campaign = {int(r) for ids in groups for r in ids}
        # segment -> (respondent, question number, stance key); segment -> codes in force
        self.segment: dict[int, tuple[int, int | None, str | None]] = {}
        for seg, respondent, number, stance in session.execute(
            select(Segment.id, Response.respondent_id, Question.number, Stance.key)
            .join(Response, Segment.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .outerjoin(Question, Response.question_id == Question.id)
            .outerjoin(Stance, Segment.stance_id == Stance.id)
            .where(Respondent.project_id == pid)
        ):
            self.segment[seg] = (respondent, number, stance)
        self.in_force: dict[int, set[str]] = defaultdict(set)
        for seg, key in session.execute(
            select(CodeAssignment.segment_id, Code.key)
            .join(Code, CodeAssignment.code_id == Code.id)
            .where(CodeAssignment.status != "rejected", CodeAssignment.segment_id.in_(list(self.segment)))
        ):
            self.in_force[seg].add(key)
        self.standard_codes: dict[str, set[str]] = defaultdict(set)
        for standard, code in session.execute(
            select(Standard.key, Code.key)
            .join(code_standard, code_standard.c.standard_id == Standard.id)
            .join(Code, code_standard.c.code_id == Code.id)
            .where(Standard.framework_id == project.framework_id)
        ):
            self.standard_codes[standard].add(code)
        self.theme_segments: dict[str, set[int]] = defaultdict(set)
        for key, seg in session.execute(
            select(Finding.key, theme_segment.c.segment_id)
            .join(Theme, Finding.theme_id == Theme.id)
            .join(theme_segment, theme_segment.c.theme_id == Theme.id)
            .where(Finding.project_id == pid)
        ):
            self.theme_segments[key].add(seg)
        self.finding_question = dict(
            session.execute(
                select(Finding.key, Question.number)
                .join(Question, Finding.question_id == Question.id)
                .where(Finding.project_id == pid)
            ).all()
        )
        self.status = Counter(session.scalars(select(Finding.status).where(Finding.project_id == pid)))
        self.members = Counter(session.scalars(select(Membership.role).where(Membership.project_id == pid)))
        role_of = dict(
            session.execute(select(Membership.user_id, Membership.role).where(Membership.project_id == pid)).all()
        )
        decisions = session.execute(
            select(
                ReviewDecision.user_id, ReviewDecision.action, ReviewDecision.blind, ReviewDecision.segment_id
            ).where(ReviewDecision.segment_id.in_(list(self.segment)))
        ).all()
        self.decisions = Counter(a for _, a, blind, _ in decisions if not blind)
        self.decisions_by_role = Counter((role_of.get(u), a) for u, a, blind, _ in decisions if not blind)
        self.blind = sum(1 for *_, blind, _ in decisions if blind)
        self.reviewed = len({s for _, _, blind, s in decisions if not blind})
        rows = session.execute(
            select(Code.key, CodeAssignment.origin)
            .join(Code, CodeAssignment.code_id == Code.id)
            .where(CodeAssignment.segment_id.in_(list(self.segment)))
        ).all()
        self.suggested = Counter(k for k, origin in rows if origin == "model")
        self.by_code_decision: Counter[tuple[str, str]] = Counter()
        for action, to_key, from_key in session.execute(
            select(ReviewDecision.action, Code.key, ReviewDecision.from_code_id)
            .outerjoin(Code, ReviewDecision.to_code_id == Code.id)
            .where(ReviewDecision.blind.is_(False), ReviewDecision.segment_id.in_(list(self.segment)))
        ):
            if action in ("accept", "add"):
                self.by_code_decision[(to_key, action)] += 1
            elif action == "reject":
                key = session.scalar(select(Code.key).where(Code.id == from_key))
                self.by_code_decision[(key, action)] += 1

    def segments_for(self, finding_key: str) -> set[int]:
        if m := re.fullmatch(r"q(\d+):code:(.+)", finding_key):
            number, code = int(m[1]), m[2]
            return {s for s, codes in self.in_force.items() if code in codes and self.segment[s][1] == number}
        if m := re.fullmatch(r"standard:(.+)", finding_key):
            linked = self.standard_codes[m[1]]
            return {s for s, codes in self.in_force.items() if codes & linked}
        if finding_key.startswith("theme:"):
            return self.theme_segments[finding_key]
        raise AssertionError(f"no recount for finding {finding_key}")

    def base_for(self, finding_key: str) -> set[int]:
        number = self.finding_question.get(finding_key)
        return self.answered[number] if number is not None else self.with_response

    def finding(self, finding_key: str, measure: str) -> tuple[int, int | None]:
        segments = self.segments_for(finding_key)
        people = {self.segment[s][0] for s in segments}
        base = self.base_for(finding_key)
        if measure == "respondents":
            return len(people), len(base)
        if measure == "without_campaigns":
            return len(people - self.campaign), len(base - self.campaign)
        if measure.startswith("type:"):
            kind = measure.removeprefix("type:")
            of_type = {r for r in base if self.respondent_type[r] == kind}
            return len({r for r in people if self.respondent_type[r] == kind}), len(of_type)
        if measure.startswith("stance:"):
            stance = measure.removeprefix("stance:")
            return len({self.segment[s][0] for s in segments if self.segment[s][2] == stance}), None
        if measure.startswith("code:"):
            code = measure.removeprefix("code:")
            return len({self.segment[s][0] for s in segments if code in self.in_force[s]}), None
        raise AssertionError(f"unknown finding measure {measure}")

    def expected(self, name: str) -> tuple[int, int | None]:
        types = Counter(self.respondent_type.values())
        simple = {
            "respondents": len(self.respondent_type),
            "responses": self.responses,
            "campaigns": self.campaigns,
            "campaign_respondents": len(self.campaign),
            "model_suggestions": sum(self.suggested.values()),
            "segments_reviewed": self.reviewed,
            "blind_decisions": self.blind,
        }
        if name in simple:
            return simple[name], None
        if m := re.fullmatch(r"type:(\w+)", name):
            return types[m[1]], None
        if m := re.fullmatch(r"status:(\w+)", name):
            return self.status[m[1]], None
        if m := re.fullmatch(r"members:(\w+)", name):
            return self.members[m[1]], None
        if m := re.fullmatch(r"decisions:(\w+)", name):
            return self.decisions[m[1]], None
        if m := re.fullmatch(r"decisions:(\w+):(\w+)", name):
            return self.decisions_by_role[(m[1], m[2])], None
        if m := re.fullmatch(r"code:(.+):(suggested|accepted|rejected|added)", name):
            if m[2] == "suggested":
                return self.suggested[m[1]], None
            return self.by_code_decision[
                (m[1], {"accepted": "accept", "rejected": "reject", "added": "add"}[m[2]])
            ], None
        if m := re.fullmatch(r"q(\d+):answered", name):
            return len(self.answered[int(m[1])]), None
        if m := re.fullmatch(r"q(\d+):answered_without_campaigns", name):
            return len(self.answered[int(m[1])] - self.campaign), None
        if m := re.fullmatch(r"q(\d+):answered:type:(\w+)", name):
            return sum(1 for r in self.answered[int(m[1])] if self.respondent_type[r] == m[2]), None
        if m := re.fullmatch(r"q(\d+):scale:(.+)", name):
            return self.scale[int(m[1])][m[2]], None
        if m := re.fullmatch(
            r"((?:q\d+:code|standard|theme):.+):(respondents|without_campaigns|type:\w+|stance:\w+|code:\w+)", name
        ):
            return self.finding(m[1], m[2])
        raise AssertionError(f"the report prints a figure named {name!r} that this test cannot recount")


@pytest.fixture(scope="module")
def recount(generated):  # type: ignore[no-untyped-def]
    with generated.project.factory() as session:
        return Recount(session, get_project(session, DEMO_SLUG))


@pytest.mark.parametrize("name", ["report.html", "evidence-pack.html"])
def test_every_printed_number_equals_the_database_count(generated, recount, name):  # type: ignore[no-untyped-def]
    figures = figures_in(generated.files[name])
    assert len(figures) > (500 if name == "report.html" else 30)
    wrong = []
    for key, value, base in figures:
        want_value, want_base = recount.expected(key)
        if value != want_value or (base is not None and want_base is not None and base != want_base):
            wrong.append(f"{key}: printed {value} of {base}, counted {want_value} of {want_base}")
    assert not wrong, "\n".join(wrong[:20])


def test_the_report_counts_every_finding_and_question(generated, recount):  # type: ignore[no-untyped-def]
    names = {key for key, _, _ in figures_in(generated.files["report.html"])}
    with generated.project.factory() as session:
        keys = set(session.scalars(select(Finding.key).where(Finding.kind != "question_summary")))
    assert {k for k in keys if f"{k}:respondents" not in names} == set(), "every finding's count is printed"
    answered = {n for n, people in recount.answered.items() if people and n is not None}
    assert {n for n in answered if f"q{n}:answered" not in names} == set()
    assert sum(v for k, v, _ in figures_in(generated.files["report.html"]) if k.startswith("type:")) == len(
        recount.respondent_type
    )
