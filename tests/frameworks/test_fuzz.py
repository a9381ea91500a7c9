"""Property tests for framework loading (YAML and REFI-QDA .qdc/.qdpx): damaged or hostile files
fail only with a clear BadInputError, and whatever loads can be stored as a project's framework.

Hostile means: YAML of the wrong shape, anchors and aliases that expand to billions of items,
nesting thousands deep, tags that would run code; XML with external entities and DTDs (XXE must
never read a local file), entity expansion bombs, the wrong schema, and zip bombs in a .qdpx.
"""

from __future__ import annotations

import functools
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import FrameworkSpec
from coproduce.reports.refi import CODEBOOK_NS
from coproduce.reports.refi_import import load_framework_file
from coproduce.services.audit import Actor
from coproduce.services.projects import create_project
from coproduce.store.db import transaction
from tests.conftest import GREEN_PAPER
from tests.fuzzing import (
    bad_input_only,
    file_with,
    fresh_database,
    fuzz_settings,
    mutated,
    overlong_values,
    row_counts,
)

pytestmark = pytest.mark.fuzz

SECRET = Path("/etc/hostname")  # a local file an external entity might try to pull in


def minimal() -> dict[str, Any]:
    return {
        "name": "Test",
        "version": "1",
        "scales": {"three": ["Yes", "Maybe", "No"]},
        "standards": [{"id": "S1", "label": "One", "description": "First"}],
        "questions": [
            {"number": 1, "text": "What?", "answer_type": "open", "chapter": "1"},
            {"number": 2, "text": "Agree?", "answer_type": "scale", "alternative_wordings": ["Do you agree?"]},
            {"number": 3, "text": "Maybe?", "answer_type": "yes-no", "scale": "three"},
        ],
        "groups": [
            {"id": "g", "label": "G", "codes": [{"id": "A", "label": "Alpha", "standards": ["S1"], "examples": ["x"]}]},
            {"id": "h", "label": "H", "parent": "g", "codes": [{"id": "B", "label": "Beta"}]},
        ],
        "stances": [{"id": "support", "label": "Support"}],
        "provenance": {"source": "test"},
    }


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
long_text = st.integers(40, 400).map(lambda n: "K" * n)  # beyond the database's String(50) keys


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*prefix, index))


@st.composite
def wrong_shapes(draw: st.DrawFn) -> Any:
    """The minimal framework with a few parts replaced by values of the wrong type, length or shape."""
    data = minimal()
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(data))))
        replacement = draw(st.one_of(json_value, long_text, st.sampled_from([[], {}, "", " ", 0, -1, True, 1.5])))
        if not where:
            return replacement
        parent = data
        for step in where[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(where[-1], None)
        else:
            parent[where[-1]] = replacement
    return data


YAML_BOMB = (
    "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
    + "name: Bomb\nversion: '1'\nprovenance: {source: *i}\ngroups: [{id: g, label: *i, codes: [{id: A, label: A}]}]\n"
)
HOSTILE_YAML = [
    YAML_BOMB,
    "name: " + "[" * 5000 + "]" * 5000 + "\n",
    "groups:\n" + "".join(f"{'  ' * i}- \n" for i in range(2000)),
    "name: !!python/object/apply:os.system ['echo pwned']\nversion: '1'\n",
    "a: &a [*a]\nname: x\nversion: '1'\ngroups: *a\n",
    "\ufeffname: With a BOM\nversion: '1'\ngroups: [{id: g, label: G, codes: [{id: A, label: A}]}]\n",
    "name: x\x00y\n",
    "--- \nname: one\n--- \nname: two\n",
]


@functools.cache
def green_paper_bytes() -> bytes:
    return GREEN_PAPER.read_bytes()


def load_only_bad_input(data: bytes, suffix: str = ".yaml") -> FrameworkSpec | None:
    with file_with(f"framework{suffix}", data) as path:
        return bad_input_only(lambda: load_framework_file(path), path)


@fuzz_settings
@given(data=st.binary(max_size=1024), suffix=st.sampled_from([".yaml", ".qdc", ".qdpx"]))
def test_random_bytes_are_loaded_or_refused_clearly(data: bytes, suffix: str) -> None:
    load_only_bad_input(data, suffix)


@fuzz_settings
@given(data=st.data())
def test_damaged_framework_yaml(data: st.DataObject) -> None:
    text = data.draw(
        st.one_of(
            mutated(green_paper_bytes()),
            wrong_shapes().map(lambda d: yaml.safe_dump(d).encode("utf-8")),
            wrong_shapes().map(lambda d: json.dumps(d).encode("utf-8")),  # JSON is YAML too
            st.sampled_from(HOSTILE_YAML).map(lambda t: t.encode("utf-8")),
        )
    )
    load_only_bad_input(text)


def test_hostile_yaml_is_refused_quickly_and_by_line() -> None:
    for text in HOSTILE_YAML[:5]:
        with file_with("framework.yaml", text.encode("utf-8")) as path, pytest.raises(BadInputError) as caught:
            load_framework(path)
        assert "framework.yaml" in str(caught.value)
    assert load_only_bad_input(HOSTILE_YAML[5].encode("utf-8")) is not None  # a BOM is fine


# ---------------------------------------------------------------- REFI-QDA codebooks

CODEBOOK = f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="{CODEBOOK_NS}" origin="NVivo 14">
  <Codes>
    <Code guid="11111111-1111-1111-1111-111111111111" name="Waiting" isCodable="true">
      <Description>Delays for assessment
[coproduce] key=WAIT</Description>
      <Code guid="22222222-2222-2222-2222-222222222222" name="Waiting for EHCP" isCodable="true"/>
    </Code>
    <Code guid="33333333-3333-3333-3333-333333333333" name="Waiting" isCodable="true"/>
  </Codes>
  <Sets><Set guid="44444444-4444-4444-4444-444444444444" name="Timely help">
    <MemberCode guid="22222222-2222-2222-2222-222222222222"/></Set></Sets>
</CodeBook>"""

CODE = '<Code guid="11111111-1111-1111-1111-111111111111" name="{name}" isCodable="true"/>'
HOSTILE_XML = [
    # external entity (XXE) reading a local file, in text and in an attribute
    f'<!DOCTYPE c [<!ENTITY e SYSTEM "file://{SECRET}">]><CodeBook xmlns="{CODEBOOK_NS}"><Codes>'
    + CODE.format(name="&e;")
    + "</Codes></CodeBook>",
    f'<!DOCTYPE c [<!ENTITY e SYSTEM "file://{SECRET}">]><CodeBook xmlns="{CODEBOOK_NS}"><Codes>'
    '<Code guid="11111111-1111-1111-1111-111111111111" name="x" isCodable="true"><Description>&e;</Description>'
    "</Code></Codes></CodeBook>",
    # parameter entity and an external DTD (no network: must not be fetched)
    f'<!DOCTYPE c [<!ENTITY % p SYSTEM "file://{SECRET}"> %p;]><CodeBook xmlns="{CODEBOOK_NS}"/>',
    f'<!DOCTYPE c SYSTEM "http://127.0.0.1:9/evil.dtd"><CodeBook xmlns="{CODEBOOK_NS}"/>',
    # entity expansion bomb
    '<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "' + f"&{chr(97 + i)};" * 10 + '">' for i in range(9))
    + f']><CodeBook xmlns="{CODEBOOK_NS}"><Codes>'
    + CODE.format(name="&j;")
    + "</Codes></CodeBook>",
    # XInclude of a local file
    f'<CodeBook xmlns="{CODEBOOK_NS}" xmlns:xi="http://www.w3.org/2001/XInclude"><Codes>'
    f'<xi:include href="file://{SECRET}" parse="text"/></Codes></CodeBook>',
    # the wrong schema: unknown elements, a project root with no codebook, nesting past the parser's limit
    f'<CodeBook xmlns="{CODEBOOK_NS}"><Codes><Thing/></Codes></CodeBook>',
    '<Project xmlns="urn:QDA-XML:project:1.0" name="p"/>',
    f'<CodeBook xmlns="{CODEBOOK_NS}"><Codes>' + "<Code>" * 300 + "</Code>" * 300 + "</Codes></CodeBook>",
]


def assert_no_secret(spec: FrameworkSpec | None) -> None:
    if spec is None or not SECRET.exists():
        return
    secret = SECRET.read_text(encoding="utf-8").strip()
    texts = [c.label for c in spec.codes] + [c.description for c in spec.codes] + [spec.name, spec.description]
    assert secret and not any(secret in text for text in texts), "an external entity was resolved"


def qdpx(project_qde: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", project_qde)
    return out.getvalue()


def test_hostile_codebooks_never_resolve_entities() -> None:
    for text in HOSTILE_XML:
        for suffix, data in ((".qdc", text.encode("utf-8")), (".qdpx", qdpx(text.encode("utf-8")))):
            assert_no_secret(load_only_bad_input(data, suffix))


def test_the_codebook_seed_loads() -> None:
    spec = load_only_bad_input(CODEBOOK.encode("utf-8"), ".qdc")
    assert spec is not None and [c.id for c in spec.codes] == ["WAIT", "WAITING_FOR_EHCP", "WAITING"]


@fuzz_settings
@given(data=st.data())
def test_damaged_codebooks(data: st.DataObject) -> None:
    xml = data.draw(
        st.one_of(mutated(CODEBOOK.encode("utf-8")), st.sampled_from(HOSTILE_XML).map(lambda t: t.encode("utf-8")))
    )
    suffix = data.draw(st.sampled_from([".qdc", ".qdpx"]))
    payload = qdpx(xml) if suffix == ".qdpx" and data.draw(st.booleans()) else xml
    if suffix == ".qdpx" and payload is not xml and data.draw(st.booleans()):
        payload = data.draw(mutated(payload, max_edits=3))
    assert_no_secret(load_only_bad_input(payload, suffix))


def test_a_qdpx_zip_bomb_is_refused_without_unpacking() -> None:
    bomb = qdpx(b"<" + b" " * 30_000_000 + b"/>")  # 30 MB of XML in a few dozen kB
    with file_with("bomb.qdpx", bomb) as path, pytest.raises(BadInputError, match=r"bomb\.qdpx"):
        load_framework_file(path)


# ---------------------------------------------------------------- whatever loads can be stored


@fuzz_settings
@given(data=st.data())
def test_any_framework_that_loads_can_be_stored(data: st.DataObject) -> None:
    document = data.draw(st.one_of(wrong_shapes(), st.just(minimal())))
    with file_with("framework.yaml", yaml.safe_dump(document).encode("utf-8")) as path:
        spec = bad_input_only(lambda: load_framework(path), path)
    if spec is None:
        return
    with fresh_database() as factory:
        with transaction(factory) as session:
            create_project(session, Actor(label="fuzz"), "Fuzzed", spec)
        with factory() as session:
            assert overlong_values(session) == []
            counts = row_counts(session)
        assert (counts["code"], counts["question"]) == (len(spec.codes), len(spec.questions))
