"""The consultation analysis report as a Word document (python-docx), from the same data as the HTML.

Headings use Word's built-in heading styles (so the navigation pane and a screen reader find them),
each chart carries its text alternative in the picture's description, and each table has a caption
and a header row that repeats across pages.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentType
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table

from coproduce.importers.base import RESPONDENT_TYPES
from coproduce.reports.charts import Chart
from coproduce.reports.data import STATUS_LABELS, FindingView, QuestionView, ReportData
from coproduce.reports.evidence import when
from coproduce.reports.people import role_name


def _type(kind: str) -> str:
    return RESPONDENT_TYPES.get(kind, kind)


def _count(c: object) -> str:
    return f"{c.respondents} of {c.base} ({c.percent}%)"  # type: ignore[attr-defined]


def _table(doc: DocumentType, caption: str, header: list[str], rows: list[list[str]]) -> Table:
    doc.add_paragraph(caption, style="Caption")
    table = doc.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    row_props = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    row_props.append(repeat)
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    doc.add_paragraph()
    return table


def _chart(doc: DocumentType, chart: Chart | None) -> None:
    if chart is None:
        return
    shape = doc.add_picture(io.BytesIO(chart.png), width=Cm(16))
    doc_pr = shape._inline.docPr
    doc_pr.set("descr", chart.alt)
    doc_pr.set("title", chart.title)
    header = [chart.category_name, *[name for name, _ in chart.series]]
    rows = [[c, *[f"{v} of {chart.totals[i]}" for i, v in enumerate(values)]] for c, values in chart.rows]
    _table(doc, f"{chart.title} (the figures in the chart)", header, rows)


def _signoff(doc: DocumentType, f: FindingView) -> None:
    s = f.signoff
    text = f"Panel: {STATUS_LABELS.get(s.status, s.status)} (version {s.version}). {s.rule_text}"
    if s.approvals:
        text += (
            " Approved by: " + ", ".join(a.who + (f" (“{a.comment}”)" if a.comment else "") for a in s.approvals) + "."
        )
    if s.needed:
        text += " Still needed: " + ", ".join(f"{n} {role_name(r).lower()}" for r, n in s.needed.items()) + "."
    doc.add_paragraph(text)
    for d in s.dissents:
        p = doc.add_paragraph(style="Intense Quote")
        p.add_run(f"Dissent from {d.who}, {when(d.at)}: ").bold = True
        p.add_run(f"“{d.comment}”")


def _finding(doc: DocumentType, f: FindingView, stance_labels: dict[str, str]) -> None:
    doc.add_heading(f.title or f.key, level=4)
    doc.add_paragraph(f.statement)
    doc.add_paragraph(
        f"Raised by {_count(f.total)} respondents; without campaign responses {_count(f.without_campaigns)}."
    )
    if f.by_type:
        _table(
            doc,
            "Who raised it, by respondent type",
            ["Respondent type", "Raised it"],
            [[_type(k), _count(c)] for k, c in f.by_type.items()],
        )
    if f.split.groups:
        rows = [[g.label, stance_labels.get(k, k), str(n)] for g in f.split.groups for k, n in g.stances]
        _table(doc, "Agreement and disagreement among those who raised it", ["View", "Stance", "Respondents"], rows)
    for q in f.quotes:
        doc.add_paragraph(f"“{q.text}” ({_type(q.respondent_type)})", style="Quote")
    _signoff(doc, f)


def _question(doc: DocumentType, q: QuestionView, data: ReportData, charts: dict[str, Chart]) -> None:
    doc.add_heading(f"Question {q.number}: {q.text}", level=2)
    doc.add_paragraph(f"{q.answered} respondents answered ({q.answered_without_campaigns} without campaign responses).")
    _table(
        doc,
        f"Who answered question {q.number}",
        ["Respondent type", "Answered"],
        [[_type(k), str(n)] for k, n in q.by_type.items()],
    )
    if q.summary is not None:
        _signoff(doc, q.summary)
    if q.scale:
        doc.add_heading("Answers given", level=3)
        _chart(doc, charts.get(f"q{q.number}:scale"))
    if q.findings:
        doc.add_heading("What respondents raised", level=3)
        _chart(doc, charts.get(f"q{q.number}:codes"))
        rows = [
            [
                f.title,
                _count(f.total),
                f"{f.without_campaigns.respondents} of {f.without_campaigns.base}",
                str(f.split.of("for")),
                str(f.split.of("against")),
                str(f.split.of("other")),
                STATUS_LABELS.get(f.signoff.status, f.signoff.status)
                + (", with dissent" if f.signoff.dissents else ""),
            ]
            for f in q.findings
        ]
        header = [
            "Point raised",
            "Respondents",
            "Without campaigns",
            "Agree or support",
            "Disagree or oppose",
            "Other",
            "Panel",
        ]
        _table(doc, f"Every point raised in answer to question {q.number}", header, rows)
        for f in q.findings:
            _finding(doc, f, data.stance_labels)
    if q.emerging:
        doc.add_heading(f"Emerging themes in answers to question {q.number}", level=3)
        for f in q.emerging:
            _finding(doc, f, data.stance_labels)


def write_docx(data: ReportData, charts: dict[str, Chart], path: Path) -> Path:
    doc = Document()
    doc.core_properties.title = f"{data.project_name}: consultation analysis report"
    doc.core_properties.author = f"coproduce {data.version}"
    doc.styles["Normal"].font.size = Pt(11)
    doc.add_heading(data.project_name, level=0)
    doc.add_paragraph("Consultation analysis report")
    doc.add_paragraph(f"Framework: {data.framework}. Report made {when(data.generated_at)}.")

    doc.add_heading("Summary", level=1)
    answered = sum(1 for q in data.questions if q.answered)
    text = (
        f"{data.respondents} respondents gave {data.responses} answers "
        f"to {answered} of the {len(data.questions)} questions."
    )
    if data.campaigns:
        text += (
            f" {data.campaign_respondents} of them sent near-identical campaign or template responses "
            f"({data.campaigns} group{'s' if data.campaigns != 1 else ''}); every count is also given without them."
        )
    doc.add_paragraph(text)
    _chart(doc, charts.get("respondents"))
    counts = data.status_counts()
    doc.add_paragraph(
        "Where the panel has got to: " + "; ".join(f"{STATUS_LABELS[s]}: {n}" for s, n in counts.items()) + "."
    )

    doc.add_heading("Question by question", level=1)
    for q in data.questions:
        if q.answered:
            _question(doc, q, data, charts)

    doc.add_heading("By national standard", level=1)
    for s in data.standards:
        doc.add_heading(f"{s.key}: {s.label}", level=2)
        if s.description:
            doc.add_paragraph(s.description)
        if s.finding is None:
            doc.add_paragraph("No response was coded to this standard.")
            continue
        if s.finding.codes:
            rows = [[data.code_labels.get(k, k), str(n)] for k, n in s.finding.codes.items()]
            _table(doc, "Respondents per linked code", ["Code", "Respondents"], rows)
        _finding(doc, s.finding, data.stance_labels)

    doc.add_heading("Emerging themes", level=1)
    if not data.emerging and not any(q.emerging for q in data.questions):
        doc.add_paragraph("No emerging themes were found.")
    for f in data.emerging:
        _finding(doc, f, data.stance_labels)
    for q in data.questions:
        for f in q.emerging:
            doc.add_paragraph(f"Question {q.number}: {f.title}: {_count(f.total)} respondents.", style="List Bullet")

    _method(doc, data)
    _signoffs(doc, data)
    doc.save(path)
    return path


def _method(doc: DocumentType, data: ReportData) -> None:
    m = data.method
    doc.add_heading("Method", level=1)
    if m.run_id is None:
        doc.add_paragraph("This project has no finished analysis run yet.")
    else:
        doc.add_paragraph(
            f"Figures from analysis run {m.run_id}, "
            f"finished {when(m.finished_at) if m.finished_at else 'not recorded'}; "
            "local models only, nothing sent anywhere."
        )
        rows = [["Configuration hash", m.config_hash], ["Random seed", str(m.seed)]]
        rows += [[f"Time: {stage}", f"{seconds:.1f} s"] for stage, seconds in m.timings.items()]
        _table(doc, "Analysis run", ["Item", "Value"], rows)
        rows = [[r, n, v, s or "not recorded"] for r, n, v, s in m.models]
        _table(doc, "Models", ["Used for", "Model or library", "Version", "SHA-256"], rows)
    a = m.agreement
    if a is not None and a.overall.value is not None:
        doc.add_paragraph(
            f"Krippendorff's alpha (nominal) over {a.overall.units} segments coded blind by {a.coders} people: "
            f"{a.overall.value:.2f}."
        )
    elif a is not None and a.overall.reason:
        doc.add_paragraph(f"No agreement statistic yet: {a.overall.reason}.")
    if a is not None and a.model.segments:
        s = a.model.overall
        doc.add_paragraph(
            f"On the {a.model.segments} segments people reviewed: model precision {s.precision or 0:.2f}, "
            f"recall {s.recall or 0:.2f}, F1 {s.f1 or 0:.2f}."
        )


def _signoffs(doc: DocumentType, data: ReportData) -> None:
    doc.add_heading("Sign-off by the panel", level=1)
    rows = []
    for f in data.all_findings():
        where = f"Q{f.question_number}: " if f.question_number else ""
        rows.append(
            [
                where + (f.title or f.statement[:80]) + (" (no longer found)" if f.stale else ""),
                STATUS_LABELS.get(f.signoff.status, f.signoff.status),
                ", ".join(a.who for a in f.signoff.approvals),
                ", ".join(f"{n} {role_name(r).lower()}" for r, n in f.signoff.needed.items()),
                str(len(f.signoff.dissents)),
            ]
        )
    _table(
        doc,
        "The sign-off state of every finding",
        ["Finding", "State", "Approved by", "Still needed", "Dissents"],
        rows,
    )
    doc.add_heading("Dissent", level=2)
    dissented = [f for f in data.all_findings() if f.signoff.dissents]
    if not dissented:
        doc.add_paragraph("No member of the panel has dissented from a finding.")
    for f in dissented:
        doc.add_paragraph(f.statement)
        _signoff(doc, f)
