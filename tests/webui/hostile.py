"""A corpus of hostile response texts, a project seeded with them as an analysis would leave it, and
a check that a page's DOM holds none of their markup (everything they carry must arrive as text).

Every executable part of every payload says ``pwned``: a page is unsafe if ``pwned`` turns up
anywhere a browser would act on it (a script or style body, an event handler, a URL, an element
that should not exist), and safe if it turns up only as text or inside a form field's value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import lxml.html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.store.models import (
    AnalysisRun,
    Code,
    CodeAssignment,
    Finding,
    Notification,
    Project,
    Respondent,
    Response,
    Segment,
    Source,
    Theme,
    User,
)

LONG_WORD = "ok" * 3000  # one unbroken 6,000-character "word"
HOSTILE_TEXTS = [
    "<script>pwned(1)</script> The school ignored us.",
    '<img src=x onerror="pwned(2)"> We had no help at all.',
    '<a href="javascript:pwned(3)">Click here for help</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5wd25lZDwvc2NyaXB0Pg==">pwned data link</a> was all we got.',
    '<svg onload="pwned(4)"><script>pwned(5)</script></svg> Nothing changed.',
    '<style>body{background:url("https://pwned.example/x")}</style><div style="position:fixed">pwned</div>',
    "--><script>pwned(6)</script><!-- Closing a comment early.",
    '"><script>pwned(7)</script> Breaking out of an attribute.',
    "'><img src=x onerror=pwned(8)> Breaking out of single quotes.",
    "{{ 7*7 }} and {% for x in range(3) %}loop{% endfor %} and {{ config }} in our letter.",
    "We waited \u202egnol oot\u202c for \u2066the assessment\u2069 and it was pwned.",
    f"One very long word: {LONG_WORD}",
    "A null\x00 byte and an \x1b[31m escape in the text.",
    '=HYPERLINK("https://pwned.example","Click me")',
    "+SUM(1+1)*cmd|' /C calc'!A0 pwned",
    "-2+3+cmd|' /C calc'!A0 pwned",
    "@SUM(1+1) pwned",
    '<iframe src="https://pwned.example"></iframe><object data="pwned.swf"></object> Plugins.',
    "<math><mtext><table><mglyph><style><img src=x onerror=pwned(9)> Mutation.",
    '<base href="https://pwned.example/"><meta http-equiv="refresh" content="0;url=https://pwned.example">',
]
# Literal text each page showing responses must show as text (no redaction touches these).
MUST_SHOW = ["<script>pwned(1)</script>", "{{ 7*7 }}", "{% for x in range(3) %}", "<svg onload="]
HOSTILE_LABEL = '=cmd|" /C calc"!A0 <img src=x onerror=pwned(10)> {{ 7*7 }}'
HOSTILE_STATEMENT = '<script>pwned(11)</script> "quoted" {{ 7*7 }} --> finding'

SAFE_TEXT_ATTRIBUTES = {"value", "title", "aria-label", "alt", "placeholder", "content", "data-text"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "srcset", "data"}
FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "math", "frame", "frameset", "applet", "mglyph"}


def write_corpus(path: Path) -> Path:
    """The corpus as family feedback (JSONL, one comment per line), about question 1, with consent to quote."""
    lines = [
        {"respondent id": f"H{i}", "question": 1, "text": text, "consent": "yes"}
        for i, text in enumerate(HOSTILE_TEXTS, 1)
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


@dataclass
class HostileProject:
    theme_id: int
    finding_id: int
    response_ids: list[int]
    respondent_ids: list[int]


def seed_hostile_analysis(factory: sessionmaker[Session], slug: str, source_name: str) -> HostileProject:
    """What an analysis would leave for the imported hostile responses: segments, model codes, a theme
    with a hostile label, an emerging-theme finding quoting every one of them, and a notification."""
    with factory() as session, session.begin():
        project = session.scalars(select(Project).where(Project.slug == slug)).one()
        rows = session.execute(
            select(Response, Respondent)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .join(Source, Respondent.source_id == Source.id)
            .where(Source.filename == source_name, Respondent.project_id == project.id)
            .order_by(Response.id)
        ).all()
        assert len(rows) == len(HOSTILE_TEXTS), "every hostile text is imported"
        run = AnalysisRun(project_id=project.id, config_hash="1" * 64, status="finished", seed=0)
        session.add(run)
        session.flush()
        code = session.scalars(select(Code).where(Code.framework_id == project.framework_id, Code.key == "WAIT")).one()
        segments = [
            Segment(response_id=r.id, position=0, start=0, end=len(r.redacted_text or ""), text=r.redacted_text or "")
            for r, _ in rows
        ]
        session.add_all(segments)
        session.flush()
        session.add_all(
            CodeAssignment(segment_id=s.id, code_id=code.id, origin="model", analysis_run_id=run.id, confidence=0.7)
            for s in segments
        )
        question_id = rows[0][0].question_id
        theme = Theme(
            project_id=project.id,
            analysis_run_id=run.id,
            question_id=question_id,
            key="q1:hostile",
            label=HOSTILE_LABEL,
            representative=segments[0].text,
            description=HOSTILE_STATEMENT,
            keywords=["<script>pwned</script>", "{{ 7*7 }}"],
            segments=segments,
        )
        session.add(theme)
        session.flush()
        n = len(rows)
        figures = {
            "respondents": n,
            "base": n,
            "share": 1.0,
            "segments": n,
            "by_type": {"parent_carer": {"respondents": n, "base": n, "share": 1.0}},
            "without_campaigns": {"respondents": n, "base": n, "share": 1.0},
            "stance": {},
            "quotes": [
                {"segment": [r.id, 0], "text": s.text, "respondent_type": "parent_carer"}
                for (r, _), s in zip(rows, segments, strict=True)
            ],
        }
        finding = Finding(
            key="theme:q1:hostile",
            kind="emerging_theme",
            project_id=project.id,
            analysis_run_id=run.id,
            question_id=question_id,
            theme_id=theme.id,
            statement=HOSTILE_STATEMENT,
            figures=figures,
            segments=segments,
        )
        summary = Finding(
            key="q1:summary",
            kind="question_summary",
            project_id=project.id,
            analysis_run_id=run.id,
            question_id=question_id,
            statement=f"{n} respondent(s) answered question 1.",
            figures={"respondents": n, "by_type": {"parent_carer": n}, "without_campaigns": n},
        )
        session.add_all([finding, summary])
        session.flush()
        for user in session.scalars(select(User)):
            session.add(
                Notification(user_id=user.id, project_id=project.id, finding_id=finding.id, message=HOSTILE_STATEMENT)
            )
        return HostileProject(
            theme_id=theme.id,
            finding_id=finding.id,
            response_ids=[r.id for r, _ in rows],
            respondent_ids=sorted({p.id for _, p in rows}),
        )


def unsafe_markup(html: str, where: str = "") -> list[str]:
    """Every place in ``html`` where hostile markup became markup rather than text."""
    document = lxml.html.document_fromstring(html)
    problems: list[str] = []
    for element in document.iter():
        if not isinstance(element.tag, str):  # a comment or processing instruction
            if "pwned" in (element.text or ""):
                problems.append(f"comment holds hostile text: {element.text[:80]!r}")
            continue
        tag = element.tag.lower()
        body = element.text_content() if tag in ("script", "style") else ""
        if tag in FORBIDDEN_TAGS:
            problems.append(f"<{tag}> element")
        if tag in ("script", "style") and "pwned" in body:
            problems.append(f"<{tag}> runs hostile text: {body[:80]!r}")
        if tag == "script" and not (element.get("src") or element.get("nonce")):
            problems.append("<script> without a nonce or src")
        if tag == "meta" and element.get("http-equiv"):
            problems.append(f"<meta http-equiv={element.get('http-equiv')!r}>")
        for name, value in element.attrib.items():
            name, lowered = name.lower(), value.strip().lower()
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=...> event handler")
            chart = tag == "img" and name == "src" and lowered.startswith("data:image/png;base64,")  # report charts
            if (
                name in URL_ATTRIBUTES
                and not chart
                and (lowered.startswith(("javascript:", "data:", "vbscript:")) or "pwned." in lowered)
            ):
                problems.append(f"<{tag} {name}={value[:60]!r}>")
            if "pwned" in lowered and name not in SAFE_TEXT_ATTRIBUTES and name not in URL_ATTRIBUTES:
                problems.append(f"<{tag} {name}={value[:60]!r}> carries hostile text")
    return [f"{where}: {p}" for p in problems]


def page_text(html: str) -> str:
    return lxml.html.document_fromstring(html).text_content()
