"""Import a REFI-QDA codebook (``.qdc``, or the codebook inside a ``.qdpx``) as a coproduce framework.

The file is parsed with entities and network access off and validated against the shipped schema;
an invalid file is refused with the schema's reason and line. Codes with child codes become code
groups (and codes too, if codable); top-level codes without children go in a group "Codes"; sets
become standards. Keys come from the ``[coproduce] key=...`` lines coproduce writes, so its own
codebooks round-trip; otherwise keys are made from the code names.
"""

from __future__ import annotations

import re
import zipfile
from collections import defaultdict
from pathlib import Path

from lxml import etree

from coproduce.errors import BadInputError
from coproduce.frameworks.model import CodeGroupSpec, CodeSpec, FrameworkSpec, StandardSpec
from coproduce.reports.refi import CODEBOOK_NS, PROJECT_NS, schema

MAX_QDC_BYTES = 20 * 1024 * 1024
# Keys and names are stored in String(50) and String(200) columns (see coproduce.frameworks.loader).
_MAX_KEY_BASE = 40  # leaves room for a "_2" suffix that keeps keys unique
_MAX_NAME_LENGTH = 200


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


# ---------------------------------------------------------------- importing a codebook


_MARK = re.compile(r"^\[coproduce\]\s+(key|group|standard)=(\S+)\s*$")


def _parse_description(text: str | None) -> tuple[str, tuple[str, ...], dict[str, str]]:
    lines, examples, marks = [], [], {}
    for line in (text or "").splitlines():
        found = _MARK.match(line.strip())
        if found:
            marks[found.group(1)] = found.group(2)
        elif line.startswith("Example: "):
            examples.append(line[len("Example: ") :].strip())
        else:
            lines.append(line)
    return "\n".join(lines).strip(), tuple(examples), marks


class _Keys:
    def __init__(self) -> None:
        self.used: set[str] = set()

    def make(self, wanted: str | None, name: str) -> str:
        base = (wanted or re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper())[:_MAX_KEY_BASE] or "CODE"
        key, n = base, 2
        while key in self.used:
            key, n = f"{base}_{n}", n + 1
        self.used.add(key)
        return key


def _load_xml(path: Path) -> etree._Element:
    if not path.is_file():
        raise BadInputError("no such file", file=path)
    if path.stat().st_size > MAX_QDC_BYTES:
        raise BadInputError("the codebook is too large", file=path, hint=f"A codebook is at most {MAX_QDC_BYTES} bytes")
    data = path.read_bytes()
    if path.suffix.lower() == ".qdpx" or data[:2] == b"PK":
        from coproduce.config import Settings
        from coproduce.importers.files import check_zip_container

        # The same zip-bomb limits as .docx and .xlsx imports, before anything is unpacked.
        check_zip_container(path, data, Settings.from_env())
        data = _project_qde(path)
    try:
        root = etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise BadInputError(f"not well-formed XML: {exc}", file=path) from exc
    if root.getroottree().docinfo.doctype:
        # REFI-QDA files never need a DTD; one that declares entities is at best odd and at worst an
        # attempt to read local files (XXE) or expand a bomb. Entities are never resolved anyway, but
        # the schema validator fails on unresolved references, so refuse the file plainly (found by fuzzing).
        raise BadInputError(
            "the file declares a DTD (<!DOCTYPE ...>), which REFI-QDA files never use",
            file=path,
            hint="Export the codebook again from the QDA program, without a DOCTYPE",
        )
    kind = (
        "Codebook"
        if root.tag == f"{{{CODEBOOK_NS}}}CodeBook"
        else "Project"
        if root.tag == f"{{{PROJECT_NS}}}Project"
        else ""
    )
    if not kind:
        raise BadInputError(f"not a REFI-QDA codebook or project (root element {root.tag})", file=path)
    checker = schema(kind)
    if not checker.validate(root):
        error = checker.error_log.last_error
        raise BadInputError(
            f"does not follow the REFI-QDA {kind} schema: {error.message}", file=path, field=f"line {error.line}"
        )
    return root


def _project_qde(path: Path) -> bytes:
    """The project.qde inside a .qdpx, refused unread if it would unpack larger than a codebook may be."""
    from coproduce.importers.files import ZIP_PART_ERRORS

    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("project.qde")
            if info.file_size > MAX_QDC_BYTES:
                raise BadInputError(
                    f"the project.qde inside would unpack to {info.file_size:,} bytes, more than {MAX_QDC_BYTES:,}",
                    file=path,
                    hint="Export only the codebook (.qdc) from the QDA program",
                )
            return archive.read(info)
    except KeyError as exc:
        raise BadInputError("not a REFI-QDA project: no project.qde inside", file=path) from exc
    except ZIP_PART_ERRORS as exc:  # found by fuzzing: a damaged part raised zlib.error, EOFError ...
        raise BadInputError(
            f"not a readable REFI-QDA project: the zip is damaged ({type(exc).__name__}: {exc})",
            file=path,
            hint="Export the project again, or export only the codebook (.qdc)",
        ) from exc


def read_codebook(path: Path, *, name: str | None = None, version: str = "1") -> FrameworkSpec:
    """A framework (codes, groups, standards; no questions) from a ``.qdc`` codebook or a ``.qdpx`` project."""
    root = _load_xml(path)
    ns = root.tag[1 : root.tag.index("}")]
    codes_el = root.find(f"{{{ns}}}Codes") if ns == CODEBOOK_NS else root.find(f"{{{ns}}}CodeBook/{{{ns}}}Codes")
    if codes_el is None:
        raise BadInputError("the file has no codebook", file=path)
    groups: list[CodeGroupSpec] = []
    codes: list[CodeSpec] = []
    by_guid: dict[str, str] = {}
    group_keys, code_keys = _Keys(), _Keys()
    loose = "CODES"

    def walk(el: etree._Element, group: str | None) -> None:
        text, examples, marks = _parse_description(el.findtext(f"{{{ns}}}Description"))
        label = el.get("name", "").strip() or "Unnamed"
        children = el.findall(f"{{{ns}}}Code")
        codable = el.get("isCodable") in ("true", "1")
        own_group = group
        if children:
            own_group = group_keys.make(marks.get("group"), label)
            groups.append(CodeGroupSpec(own_group, label, group))
        if codable or not children:
            key = code_keys.make(marks.get("key"), label)
            by_guid[el.get("guid", "").strip("{}").lower()] = key
            codes.append(CodeSpec(key, label, own_group or loose, text, examples, ()))
        for child in children:
            walk(child, own_group)

    for el in codes_el.findall(f"{{{ns}}}Code"):
        walk(el, None)
    if any(c.group == loose for c in codes) and loose not in {g.id for g in groups}:
        groups.append(CodeGroupSpec(loose, "Codes"))
    standards: list[StandardSpec] = []
    links: dict[str, list[str]] = defaultdict(list)
    sets_path = f"{{{ns}}}Sets/{{{ns}}}Set"
    standard_keys = _Keys()
    for el in root.findall(sets_path):
        text, _, marks = _parse_description(el.findtext(f"{{{ns}}}Description"))
        key = standard_keys.make(marks.get("standard"), el.get("name", ""))
        standards.append(StandardSpec(key, el.get("name", "").strip() or key, text))
        for member in el.findall(f"{{{ns}}}MemberCode"):
            target = (member.get("guid") or member.get("targetGUID") or "").strip("{}").lower()
            if target in by_guid:
                links[by_guid[target]].append(key)
    codes = [CodeSpec(c.id, c.label, c.group, c.description, c.examples, tuple(links.get(c.id, ()))) for c in codes]
    return FrameworkSpec(
        name=(name or root.get("name") or path.stem)[:_MAX_NAME_LENGTH],
        version=version,
        description=f"Imported from the REFI-QDA file {path.name}"
        + (f" ({root.get('origin')})" if root.get("origin") else ""),
        groups=tuple(groups),
        codes=tuple(codes),
        standards=tuple(standards),
        provenance={"source": path.name, "format": "REFI-QDA"},
    )


def load_framework_file(path: Path) -> FrameworkSpec:
    """A framework from YAML, or from a REFI-QDA codebook (``.qdc``) or project (``.qdpx``)."""
    if path.suffix.lower() in (".qdc", ".qdpx"):
        return read_codebook(path)
    from coproduce.frameworks.loader import load_framework

    return load_framework(path)
