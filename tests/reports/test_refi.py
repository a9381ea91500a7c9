"""REFI-QDA: the exported project and codebook follow the QDA-XML 1.0 schemas; a codebook round-trips."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from coproduce.errors import BadInputError
from coproduce.reports.refi import CODEBOOK_NS, PROJECT_NS, schema
from coproduce.reports.refi_import import read_codebook
from coproduce.services.audit import Actor
from coproduce.services.demo import DEMO_SLUG
from coproduce.services.frameworks import spec_from_db
from coproduce.services.projects import create_project, get_project
from coproduce.store.db import transaction
from coproduce.store.models import CodeAssignment, Respondent, Segment
from tests.conftest import ROOT, SHARED
from tests.reports.conftest import DISSENT

pytestmark = pytest.mark.slow
NS = {"p": PROJECT_NS, "c": CODEBOOK_NS}


def test_shipped_schemas_are_the_reference_ones():
    shipped = ROOT / "coproduce" / "reports" / "refi_schemas"
    reference = SHARED / "reference" / "refi-qda"
    for name in ("Project.xsd", "Codebook.xsd"):
        if (reference / name).exists():
            assert (shipped / name).read_bytes() == (reference / name).read_bytes()
    assert "MIT license" in (shipped / "LICENSE").read_text()


def project_doc(generated) -> etree._Element:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(generated.files["project.qdpx"]) as archive:
        return etree.fromstring(archive.read("project.qde"))


def test_qdpx_project_is_schema_valid(generated):  # type: ignore[no-untyped-def]
    doc = project_doc(generated)
    checker = schema("Project")
    assert checker.validate(doc), checker.error_log


def test_qdpx_codings_cases_users_and_notes(generated):  # type: ignore[no-untyped-def]
    doc = project_doc(generated)
    users = {u.get("guid"): u.get("name") for u in doc.iterfind("p:Users/p:User", NS)}
    assert "coproduce model" in users.values()
    assert any(name.startswith("Parent carer") for name in users.values()), "the person who added a code is a user"
    codings = doc.findall(".//p:PlainTextSelection/p:Coding", NS)
    by_user = {c.get("creatingUser") for c in codings}
    assert by_user <= set(users) and len(by_user) >= 2
    with generated.project.factory() as session:
        live = session.scalars(
            select(CodeAssignment.id).where(CodeAssignment.status != "rejected", CodeAssignment.segment_id.is_not(None))
        ).all()
        respondents = session.scalars(select(Respondent.id)).all()
    assert len(codings) == len(live), "one coding per code in force"
    cases = doc.findall("p:Cases/p:Case", NS)
    assert len(cases) == len(respondents)
    assert all(c.find("p:VariableValue", NS) is not None for c in cases)
    notes = "\n".join(n.findtext("p:PlainTextContent", namespaces=NS) for n in doc.iterfind("p:Notes/p:Note", NS))
    assert "DISSENT from Young person 1" in notes and DISSENT in notes
    assert doc.findall("p:Sets/p:Set", NS), "standards are sets of codes"


def test_qdpx_selections_point_at_the_segment_text(generated):  # type: ignore[no-untyped-def]
    doc = project_doc(generated)
    with zipfile.ZipFile(generated.files["project.qdpx"]) as archive:
        checked = 0
        with generated.project.factory() as session:
            texts = dict(session.execute(select(Segment.id, Segment.text)).all())
        ids = {}
        from coproduce.reports.refi import guid
        from coproduce.store.models import Project

        with generated.project.factory() as session:
            project = session.scalars(select(Project).where(Project.slug == DEMO_SLUG)).one()
            ids = {guid(project, "segment", s): s for s in texts}
        for source in doc.iterfind("p:Sources/p:TextSource", NS):
            body = archive.read("sources/" + source.get("plainTextPath").removeprefix("internal://")).decode("utf-8")
            for sel in source.iterfind("p:PlainTextSelection", NS):
                start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
                assert body[start:end] == texts[ids[sel.get("guid")]]
                checked += 1
    assert checked > 100


def test_qdc_codebook_is_schema_valid_and_round_trips(generated, own_copy, tmp_path):  # type: ignore[no-untyped-def]
    qdc = generated.files["codebook.qdc"]
    doc = etree.parse(str(qdc))
    checker = schema("Codebook")
    assert checker.validate(doc), checker.error_log
    spec = read_codebook(qdc, name="Round trip")
    with generated.project.factory() as session:
        original = spec_from_db(session, get_project(session, DEMO_SLUG).framework)
    assert [(c.id, c.label, c.group, c.description, c.examples, set(c.standards)) for c in spec.codes] == [
        (c.id, c.label, c.group, c.description, c.examples, set(c.standards)) for c in original.codes
    ]
    assert {(g.id, g.label, g.parent) for g in spec.groups} == {(g.id, g.label, g.parent) for g in original.groups}
    assert {(s.id, s.label, s.description) for s in spec.standards} == {
        (s.id, s.label, s.description) for s in original.standards
    }
    with transaction(own_copy.factory) as session:  # and it makes a working project
        project = create_project(session, Actor(label="test"), "From a codebook", spec)
        assert len(project.framework.codes) == len(original.codes)


def test_a_codebook_from_another_program_imports_with_keys_from_names(tmp_path: Path):
    qdc = tmp_path / "nvivo.qdc"
    qdc.write_text(
        f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="{CODEBOOK_NS}" origin="NVivo 14">
  <Codes>
    <Code guid="11111111-1111-1111-1111-111111111111" name="Waiting" isCodable="true">
      <Description>Delays for assessment</Description>
      <Code guid="22222222-2222-2222-2222-222222222222" name="Waiting for EHCP" isCodable="true"/>
    </Code>
    <Code guid="{{33333333-3333-3333-3333-333333333333}}" name="Waiting" isCodable="true"/>
  </Codes>
  <Sets><Set guid="44444444-4444-4444-4444-444444444444" name="Timely help">
    <MemberCode guid="22222222-2222-2222-2222-222222222222"/></Set></Sets>
</CodeBook>""",
        encoding="utf-8",
    )
    spec = read_codebook(qdc)
    assert [(c.id, c.group) for c in spec.codes] == [
        ("WAITING", "WAITING"),
        ("WAITING_FOR_EHCP", "WAITING"),
        ("WAITING_2", "CODES"),
    ]
    assert spec.codes[0].description == "Delays for assessment"
    assert [s.id for s in spec.standards] == ["TIMELY_HELP"] and spec.codes[1].standards == ("TIMELY_HELP",)


@pytest.mark.parametrize(
    "content,message",
    [
        ("not xml at all", "not well-formed"),
        (f'<CodeBook xmlns="{CODEBOOK_NS}"><Codes><Code name="x" isCodable="true"/></Codes></CodeBook>', "guid"),
        ('<Other xmlns="urn:else"/>', "not a REFI-QDA"),
        (
            '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            f'<CodeBook xmlns="{CODEBOOK_NS}"><Codes>'
            '<Code guid="11111111-1111-1111-1111-111111111111" name="&e;" isCodable="true"/></Codes></CodeBook>',
            "",
        ),
    ],
)
def test_bad_codebooks_are_refused_with_a_reason(tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.qdc"
    path.write_text(content, encoding="utf-8")
    try:
        spec = read_codebook(path)
    except BadInputError as exc:
        assert message in str(exc) and "bad.qdc" in str(exc)
    else:  # the external entity is never resolved
        assert message == "" and "root:" not in spec.codes[0].label
