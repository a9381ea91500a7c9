"""REFI-QDA exchange (QDA-XML 1.0): a ``.qdpx`` project and a ``.qdc`` codebook out, a codebook in.

The project file is a zip holding ``project.qde`` (a ``Project`` document) and ``sources/*.txt``:

- the framework's code groups are non-codable codes with their codes inside; each standard is a
  ``Set`` of the codes linked to it;
- each respondent is a ``Case`` with their attributes as variables, and one text source holding
  their redacted answers under their question headings;
- each segment with codes in force is a ``PlainTextSelection`` with one ``Coding`` per code; the
  coding's ``creatingUser`` is the model (a ``User`` of its own) for a suggestion and the person for a
  code a person gave; the selection's description says who accepted, rejected or recoded what;
- every finding is a ``Note``: its statement, its figures, its sign-offs and every dissent, linked
  from its code and from the project.

GUIDs are derived from the project and the row (UUID 5), so exporting again gives the same GUIDs and
another program can match what it imported before. Codes carry their coproduce key in a last line
of their description (``[coproduce] key=MED``), which is how a codebook survives the round trip;
a codebook from another program gets keys made from its code names (:mod:`.refi_import`). The XML schemas ship in
``refi_schemas/`` (MIT licence, see the LICENSE file there).
"""

from __future__ import annotations

import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from pathlib import Path

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from coproduce import __version__
from coproduce.errors import BadInputError
from coproduce.reports.data import STATUS_LABELS, FindingView, ReportData
from coproduce.reports.people import Pseudonyms
from coproduce.store.models import (
    Code,
    CodeAssignment,
    CodeGroup,
    Project,
    Question,
    Respondent,
    Response,
    Segment,
    Stance,
    Standard,
    utcnow,
)

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://coproduce.invalid/refi-qda")
KEY_MARK = "[coproduce]"
VARIABLES = (
    ("respondent_type", "Text"),
    ("age", "Integer"),
    ("age_band", "Text"),
    ("setting", "Text"),
    ("communication_method", "Text"),
    ("area", "Text"),
    ("consent_to_quote", "Boolean"),
    ("in_campaign", "Boolean"),
)


def guid(project: Project, kind: str, ident: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{project.slug}:{kind}:{ident}"))


def _stamp(moment: datetime | None) -> str:
    return (moment or utcnow()).replace(microsecond=0).isoformat() + "Z"


def schema(name: str) -> etree.XMLSchema:
    """The REFI-QDA schema ``Project`` or ``Codebook`` shipped with the package."""
    path = resources.files("coproduce.reports") / "refi_schemas" / f"{name}.xsd"
    return etree.XMLSchema(etree.fromstring(path.read_bytes()))


# ---------------------------------------------------------------- the codebook


def _description(text: str, examples: Iterable[str], mark: str) -> str:
    lines = [text.strip()] if text.strip() else []
    lines += [f"Example: {e}" for e in examples]
    lines.append(f"{KEY_MARK} {mark}")
    return "\n".join(lines)


def _codes_xml(
    session: Session, project: Project, ns: str, note_refs: dict[int, list[str]] | None = None
) -> etree._Element:
    """``<Codes>``: code groups (not codable) holding their codes and child groups."""
    fw = project.framework_id
    groups = list(session.scalars(select(CodeGroup).where(CodeGroup.framework_id == fw).order_by(CodeGroup.id)))
    codes = list(session.scalars(select(Code).where(Code.framework_id == fw).order_by(Code.id)))
    children: dict[int | None, list[CodeGroup]] = defaultdict(list)
    for g in groups:
        children[g.parent_id].append(g)
    in_group: dict[int | None, list[Code]] = defaultdict(list)
    for c in codes:
        in_group[c.group_id].append(c)
    root = etree.Element(f"{{{ns}}}Codes")

    def code_el(parent: etree._Element, c: Code) -> None:
        el = etree.SubElement(
            parent, f"{{{ns}}}Code", guid=guid(project, "code", c.key), name=c.label, isCodable="true"
        )
        etree.SubElement(el, f"{{{ns}}}Description").text = _description(
            c.description, c.examples or [], f"key={c.key}"
        )
        for ref in (note_refs or {}).get(c.id, []):
            etree.SubElement(el, f"{{{ns}}}NoteRef", targetGUID=ref)

    def group_el(parent: etree._Element, g: CodeGroup) -> None:
        el = etree.SubElement(
            parent, f"{{{ns}}}Code", guid=guid(project, "group", g.key), name=g.label, isCodable="false"
        )
        etree.SubElement(el, f"{{{ns}}}Description").text = _description("", [], f"group={g.key}")
        for c in in_group.get(g.id, []):
            code_el(el, c)
        for child in children.get(g.id, []):
            group_el(el, child)

    for g in children.get(None, []):
        group_el(root, g)
    for c in in_group.get(None, []):
        code_el(root, c)
    if not len(root):
        raise BadInputError("the project's framework has no codes to export", field="framework")
    return root


def _standard_sets(session: Session, project: Project, ns: str, member: str) -> etree._Element | None:
    standards = list(
        session.scalars(select(Standard).where(Standard.framework_id == project.framework_id).order_by(Standard.id))
    )
    linked: dict[int, list[str]] = defaultdict(list)
    for code in session.scalars(select(Code).where(Code.framework_id == project.framework_id).order_by(Code.id)):
        for s in code.standards:
            linked[s.id].append(code.key)
    if not standards:
        return None
    sets = etree.Element(f"{{{ns}}}Sets")
    for s in standards:
        el = etree.SubElement(sets, f"{{{ns}}}Set", guid=guid(project, "standard", s.key), name=s.label)
        etree.SubElement(el, f"{{{ns}}}Description").text = _description(s.description, [], f"standard={s.key}")
        for key in linked[s.id]:
            attr = (
                {"targetGUID": guid(project, "code", key)}
                if member == "targetGUID"
                else {"guid": guid(project, "code", key)}
            )
            etree.SubElement(el, f"{{{ns}}}MemberCode", **attr)
    return sets


def codebook_xml(session: Session, project: Project) -> bytes:
    """The project's framework as a REFI-QDA codebook (``.qdc``)."""
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"coproduce {__version__}")
    root.append(_codes_xml(session, project, CODEBOOK_NS))
    sets = _standard_sets(session, project, CODEBOOK_NS, member="guid")
    if sets is not None:
        root.append(sets)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def write_qdc(session: Session, project: Project, path: Path) -> Path:
    path.write_bytes(codebook_xml(session, project))
    return path


# ---------------------------------------------------------------- the project


def _finding_note(f: FindingView) -> str:
    s = f.signoff
    lines = [
        f.statement,
        "",
        f"Finding {f.key}: {STATUS_LABELS.get(s.status, s.status)} (version {s.version}). {s.rule_text}",
    ]
    w = f.without_campaigns
    lines.append(
        f"Respondents: {f.total.respondents} of {f.total.base}; without campaigns {w.respondents} of {w.base}."
    )
    lines += [f"Approved by {a.who} ({a.at:%Y-%m-%d}){': ' + a.comment if a.comment else ''}" for a in s.approvals]
    lines += [f"DISSENT from {d.who} ({d.at:%Y-%m-%d}, version {d.version}): {d.comment}" for d in s.dissents]
    if s.needed:
        lines.append("Still needed: " + ", ".join(f"{n} {role}" for role, n in s.needed.items()))
    if f.you_said_we_did:
        lines.append(f"You said, we did: {f.you_said_we_did}")
    return "\n".join(lines)


class _ProjectWriter:
    def __init__(self, session: Session, project: Project, report: ReportData) -> None:
        self.session = session
        self.project = project
        self.report = report
        self.people = Pseudonyms.for_project(session, project)
        self.model_guid = guid(project, "user", "model")
        self.users: dict[str, str] = {self.model_guid: "coproduce model"}
        self.sources: dict[str, str] = {}  # file name in the zip -> text

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return self.model_guid
        g = guid(self.project, "user", user_id)
        self.users.setdefault(g, self.people.name(user_id))
        return g

    def element(self) -> etree._Element:
        p, ns = self.project, PROJECT_NS
        findings = self.report.all_findings()
        note_refs: dict[int, list[str]] = defaultdict(list)
        code_ids = dict(
            self.session.execute(select(Code.key, Code.id).where(Code.framework_id == p.framework_id)).all()
        )
        for f in findings:
            if f.kind == "question_code":
                code_key = f.key.rsplit(":", 1)[-1]
                if code_key in code_ids:
                    note_refs[code_ids[code_key]].append(guid(p, "finding", f.key))
        root = etree.Element(
            f"{{{ns}}}Project",
            nsmap={None: ns},
            name=p.name,
            origin=f"coproduce {__version__}",
            creationDateTime=_stamp(p.created_at),
            modifiedDateTime=_stamp(self.report.generated_at),
        )
        users = etree.SubElement(root, f"{{{ns}}}Users")
        codebook = etree.SubElement(root, f"{{{ns}}}CodeBook")
        codebook.append(_codes_xml(self.session, p, ns, note_refs))
        variables = etree.SubElement(root, f"{{{ns}}}Variables")
        for name, kind in VARIABLES:
            etree.SubElement(
                variables, f"{{{ns}}}Variable", guid=guid(p, "variable", name), name=name, typeOfVariable=kind
            )
        cases = etree.SubElement(root, f"{{{ns}}}Cases")
        sources = etree.SubElement(root, f"{{{ns}}}Sources")
        self._respondents(cases, sources)
        if not len(cases):
            root.remove(cases)
            root.remove(sources)
        notes = etree.SubElement(root, f"{{{ns}}}Notes")
        for f in findings:
            note = etree.SubElement(
                notes,
                f"{{{ns}}}Note",
                guid=guid(p, "finding", f.key),
                name=f"Finding: {f.title or f.key}"[:200],
                creatingUser=self.model_guid,
                creationDateTime=_stamp(self.report.generated_at),
            )
            etree.SubElement(note, f"{{{ns}}}PlainTextContent").text = _finding_note(f)
        if not len(notes):
            root.remove(notes)
        sets = _standard_sets(self.session, p, ns, member="targetGUID")
        if sets is not None:
            root.append(sets)
        etree.SubElement(root, f"{{{ns}}}Description").text = (
            f"{p.name}: redacted consultation responses coded against {self.report.framework}, "
            "exported by coproduce. People appear by role, never by name."
        )
        for f in findings:
            etree.SubElement(root, f"{{{ns}}}NoteRef", targetGUID=guid(p, "finding", f.key))
        for g, name in self.users.items():
            etree.SubElement(users, f"{{{ns}}}User", guid=g, name=name)
        return root

    def _respondents(self, cases: etree._Element, sources: etree._Element) -> None:
        p, ns, s = self.project, PROJECT_NS, self.session
        codes = dict(s.execute(select(Code.id, Code.key)).all())
        stances = dict(s.execute(select(Stance.id, Stance.key)).all())
        responses: dict[int, list[tuple[Response, Question | None]]] = defaultdict(list)
        for response, question in s.execute(
            select(Response, Question)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .outerjoin(Question, Response.question_id == Question.id)
            .where(Respondent.project_id == p.id)
            .order_by(Respondent.id, Question.number, Response.id)
        ).all():
            responses[response.respondent_id].append((response, question))
        segments: dict[int, list[Segment]] = defaultdict(list)
        assignments: dict[int, list[CodeAssignment]] = defaultdict(list)
        for segment, assignment in s.execute(
            select(Segment, CodeAssignment)
            .join(CodeAssignment, CodeAssignment.segment_id == Segment.id)
            .join(Response, Segment.response_id == Response.id)
            .join(Respondent, Response.respondent_id == Respondent.id)
            .where(Respondent.project_id == p.id)
            .order_by(Segment.id, CodeAssignment.id)
        ).all():
            if not segments[segment.response_id] or segments[segment.response_id][-1].id != segment.id:
                segments[segment.response_id].append(segment)
            assignments[segment.id].append(assignment)
        respondents = s.scalars(select(Respondent).where(Respondent.project_id == p.id).order_by(Respondent.id))
        for r in respondents:
            source_guid = guid(p, "source", r.id)
            case = etree.SubElement(cases, f"{{{ns}}}Case", guid=guid(p, "case", r.id), name=f"Respondent {r.id}")
            self._values(case, r)
            etree.SubElement(case, f"{{{ns}}}SourceRef", targetGUID=source_guid)
            text_parts: list[str] = []
            offset = 0
            source = etree.SubElement(
                sources,
                f"{{{ns}}}TextSource",
                guid=source_guid,
                name=f"Respondent {r.id}",
                plainTextPath=f"internal://{source_guid}.txt",
            )
            for response, question in responses.get(r.id, []):
                heading = f"Question {question.number}: {question.text}\n" if question else "Other text\n"
                if response.scale_answer:
                    heading += f"Answer: {response.scale_answer}\n"
                body = response.redacted_text or ""
                start = offset + len(heading)
                text_parts += [heading, body, "\n\n"]
                offset = start + len(body) + 2
                for seg in segments.get(response.id, []):
                    self._selection(source, seg, start, assignments[seg.id], codes, stances)
            self.sources[f"{source_guid}.txt"] = "".join(text_parts)

    def _values(self, case: etree._Element, r: Respondent) -> None:
        ns = PROJECT_NS
        values = {
            "respondent_type": r.respondent_type,
            "age": r.age,
            "age_band": r.age_band,
            "setting": r.setting,
            "communication_method": r.communication_method,
            "area": r.area,
            "consent_to_quote": r.consent_to_quote,
            "in_campaign": r.id in self.report.campaign_members,
        }
        for name, kind in VARIABLES:
            value = values[name]
            if value is None or value == "":
                continue
            el = etree.SubElement(case, f"{{{ns}}}VariableValue")
            etree.SubElement(el, f"{{{ns}}}VariableRef", targetGUID=guid(self.project, "variable", name))
            tag = {"Text": "TextValue", "Integer": "IntegerValue", "Boolean": "BooleanValue"}[kind]
            etree.SubElement(el, f"{{{ns}}}{tag}").text = (
                ("true" if value else "false") if kind == "Boolean" else str(value)
            )

    def _selection(
        self,
        source: etree._Element,
        seg: Segment,
        start: int,
        rows: list[CodeAssignment],
        codes: dict[int, str],
        stances: dict[int, str],
    ) -> None:
        ns, p = PROJECT_NS, self.project
        live = [a for a in rows if a.status != "rejected"]
        if not live:
            return
        el = etree.SubElement(
            source,
            f"{{{ns}}}PlainTextSelection",
            guid=guid(p, "segment", seg.id),
            name=seg.text[:60],
            startPosition=str(start + seg.start),
            endPosition=str(start + seg.end),
            creatingUser=self.model_guid,
            creationDateTime=_stamp(min(a.created_at for a in rows)),
        )
        notes = []
        if seg.stance_id:
            notes.append(f"Stance: {stances.get(seg.stance_id, '')} ({seg.stance_origin or 'model'})")
        for a in rows:
            if a.user_id is not None and a.status in ("accepted", "rejected"):
                notes.append(f"{codes.get(a.code_id)} {a.status} by {self.people.name(a.user_id)}")
        if notes:
            etree.SubElement(el, f"{{{ns}}}Description").text = "; ".join(notes)
        for a in live:
            coding = etree.SubElement(
                el,
                f"{{{ns}}}Coding",
                guid=guid(p, "coding", a.id),
                creatingUser=self.user(a.user_id if a.origin == "human" else None),
                creationDateTime=_stamp(a.created_at),
            )
            etree.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=guid(p, "code", codes[a.code_id]))


def project_xml(session: Session, project: Project, report: ReportData) -> tuple[bytes, dict[str, str]]:
    """``project.qde`` and the source texts (file name -> text) of a ``.qdpx``."""
    writer = _ProjectWriter(session, project, report)
    root = writer.element()
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True), writer.sources


def write_qdpx(session: Session, project: Project, report: ReportData, path: Path) -> Path:
    xml, sources = project_xml(session, project, report)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", xml)
        for name, text in sorted(sources.items()):
            archive.writestr(f"sources/{name}", text.encode("utf-8"))
    return path
