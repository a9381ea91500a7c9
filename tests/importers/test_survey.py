"""Survey exports: dialect detection, the guessed column mapping, its YAML, and the import itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.model import AGREE_SCALE, FrameworkSpec
from coproduce.importers.base import RESPONDENT_TYPES, Importer
from coproduce.importers.dialects import detect_dialect
from coproduce.importers.mapping import ColumnMapping
from coproduce.importers.survey import SurveyImporter, guess_mapping
from coproduce.importers.values import closed_answer_of, consent_of, respondent_type_of

from .conftest import DATA, SAMPLES

SETTINGS = Settings()


def kinds(mapping: ColumnMapping) -> dict[str, tuple[str, int | None, str | None]]:
    return {rule.letter: (rule.kind, rule.question_number, rule.attribute) for rule in mapping.columns}


def by_key(items: list, key: str) -> dict:
    return {getattr(item, key): item for item in items}


@pytest.mark.parametrize(
    ("name", "dialect"),
    [
        ("citizen-space.csv", "citizen_space"),
        ("surveymonkey.csv", "surveymonkey"),
        ("qualtrics.csv", "qualtrics"),
        ("google-forms.csv", "google_forms"),
    ],
)
def test_detect_dialect(name: str, dialect: str) -> None:
    assert detect_dialect(DATA / name) == dialect


def test_detect_microsoft_forms(microsoft_forms_xlsx: Path) -> None:
    assert detect_dialect(microsoft_forms_xlsx) == "microsoft_forms"


def test_detect_generic(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("Reference,Comment\n1,hello\n", encoding="utf-8")
    assert detect_dialect(path) == "generic"


def test_importer_protocol() -> None:
    importer: Importer = SurveyImporter(None, SETTINGS)
    assert importer.name == "survey"
    assert importer.suffixes == (".csv", ".xlsx")


# --- Citizen Space -----------------------------------------------------------------------------


def test_citizen_space_mapping(green_paper: FrameworkSpec) -> None:
    mapping = guess_mapping(DATA / "citizen-space.csv", green_paper, SETTINGS)
    assert (mapping.dialect, mapping.header_rows) == ("citizen_space", 1)
    assert kinds(mapping) == {
        "A": ("respondent_id", None, None),
        "B": ("ignore", None, None),
        "C": ("respondent_attribute", None, "respondent_type"),
        "D": ("respondent_attribute", None, "area"),
        "E": ("ignore", None, None),  # name: personal data
        "F": ("ignore", None, None),  # email: personal data
        "G": ("open_question", 1, None),
        "H": ("closed_question", 6, None),
        "I": ("open_question", 6, None),  # "Please give reasons for your answer" follows question 6
        "J": ("closed_question", 9, None),
        "K": ("open_question", 9, None),
        "L": ("respondent_attribute", None, "consent_to_quote"),
    }


def test_citizen_space_import(green_paper: FrameworkSpec) -> None:
    result = SurveyImporter(None, SETTINGS).read(DATA / "citizen-space.csv", green_paper)
    assert result.importer == "survey"
    respondents = by_key(result.respondents, "key")
    assert list(respondents) == ["ANON-1001", "ANON-1002", "ANON-1004"]
    first = respondents["ANON-1001"]
    assert (first.respondent_type, first.area, first.consent_to_quote) == ("parent_carer", "Northfield", True)
    assert first.external_id == "ANON-1001"
    assert respondents["ANON-1002"].respondent_type == "organisation"
    assert respondents["ANON-1002"].consent_to_quote is False
    odd = respondents["ANON-1004"]
    assert odd.respondent_type == "other"
    assert odd.attributes == {
        "respondent_type_as_written": "Interested resident",
        "consent_to_quote_as_written": "not sure",
    }
    assert odd.consent_to_quote is None
    # Personal data columns never reach the respondent.
    assert all("jane" not in str(vars(r)).lower() for r in result.respondents)

    answers = {(r.respondent_key, r.question_number): r for r in result.responses}
    q6 = answers["ANON-1001", 6]
    assert (q6.scale_answer, q6.text, q6.location) == (
        "Strongly disagree",
        "Mediation must stay voluntary.",
        "row 2",
    )
    assert answers["ANON-1002", 6].scale_answer == "Neither agree nor disagree"
    assert answers["ANON-1002", 9].scale_answer == "Agree"
    assert answers["ANON-1002", 9].text is None
    unplaced = answers["ANON-1004", 6]
    assert (unplaced.scale_answer, unplaced.closed_answer) == (None, "Somewhat")
    assert len(result.responses) == 8

    assert [(r.location, r.reason) for r in result.rejected] == [
        ("row 4", "no answers"),
        ("row 5, column G", "answer has no words"),
    ]


# --- SurveyMonkey ------------------------------------------------------------------------------


def test_surveymonkey_mapping(green_paper: FrameworkSpec) -> None:
    mapping = guess_mapping(DATA / "surveymonkey.csv", green_paper, SETTINGS)
    assert (mapping.dialect, mapping.header_rows) == ("surveymonkey", 2)
    got = kinds(mapping)
    assert got["A"] == ("respondent_id", None, None)
    assert all(got[letter][0] == "ignore" for letter in "BCDEFGHI")  # IP, email, names, metadata
    assert got["J"] == ("respondent_attribute", None, "respondent_type")
    assert got["K"] == ("respondent_attribute", None, "respondent_type_other")
    assert got["L"] == ("closed_question", 6, None)  # "Response" under question 6
    assert got["M"] == ("open_question", 6, None)  # "Open-Ended Response" under question 6
    assert got["N"] == ("open_question", 4, None)


def test_surveymonkey_import(green_paper: FrameworkSpec) -> None:
    result = SurveyImporter(None, SETTINGS).read(DATA / "surveymonkey.csv", green_paper)
    respondents = by_key(result.respondents, "key")
    assert respondents["114233902"].respondent_type == "other"
    assert respondents["114233902"].attributes == {"respondent_type_other": "Childminder"}
    answers = {(r.respondent_key, r.question_number): r for r in result.responses}
    assert answers["114233901", 6].scale_answer == "Disagree"
    assert answers["114233901", 6].text == "Tribunals are the only route that works for us."
    assert answers["114233901", 6].location == "row 3"
    assert answers["114233903", 6].scale_answer == "Neither agree nor disagree"
    assert len(result.responses) == 5
    assert not result.rejected


# --- Qualtrics ---------------------------------------------------------------------------------


def test_qualtrics_mapping_ignores_personal_metadata(green_paper: FrameworkSpec) -> None:
    mapping = guess_mapping(DATA / "qualtrics.csv", green_paper, SETTINGS)
    assert (mapping.dialect, mapping.header_rows) == ("qualtrics", 3)
    got = {rule.header.split(" / ")[0]: rule.kind for rule in mapping.columns}
    for column in (
        "IPAddress",
        "RecipientLastName",
        "RecipientFirstName",
        "RecipientEmail",
        "LocationLatitude",
        "LocationLongitude",
        "ExternalReference",
        "StartDate",
        "Duration (in seconds)",
    ):
        assert got[column] == "ignore", column
    assert got["ResponseId"] == "respondent_id"
    assert got["Q1"] == "respondent_attribute"
    assert got["Q2"] == "closed_question"
    assert got["Q3"] == "open_question"
    q_numbers = {rule.header.split(" / ")[0]: rule.question_number for rule in mapping.columns}
    # Qualtrics' own ids (Q2, Q3, Q4) are not the framework's numbers: the wording decides.
    assert (q_numbers["Q2"], q_numbers["Q3"], q_numbers["Q4"]) == (6, 6, 22)


def test_qualtrics_import(green_paper: FrameworkSpec) -> None:
    result = SurveyImporter(None, SETTINGS).read(DATA / "qualtrics.csv", green_paper)
    assert [r.key for r in result.respondents] == [
        "R_1abcDEFghiJKL01",
        "R_1abcDEFghiJKL02",
        "R_1abcDEFghiJKL03",
    ]
    assert [r.respondent_type for r in result.respondents] == ["parent_carer", "other", "young_person"]
    answers = {(r.respondent_key, r.question_number): r for r in result.responses}
    assert answers["R_1abcDEFghiJKL02", 6].scale_answer == "Strongly disagree"
    assert answers["R_1abcDEFghiJKL01", 22].location == "row 4"
    assert "sam1@example.org" not in repr(result)
    assert "203.0.113.1" not in repr(result)


# --- Google Forms and Microsoft Forms ----------------------------------------------------------


def test_google_forms(green_paper: FrameworkSpec) -> None:
    mapping = guess_mapping(DATA / "google-forms.csv", green_paper, SETTINGS)
    assert kinds(mapping) == {
        "A": ("ignore", None, None),
        "B": ("ignore", None, None),
        "C": ("respondent_attribute", None, "respondent_type"),
        "D": ("respondent_attribute", None, "age_band"),
        "E": ("open_question", 4, None),
        "F": ("closed_question", 7, None),
        "G": ("open_question", 7, None),
        "H": ("respondent_attribute", None, "consent_to_quote"),
    }
    result = SurveyImporter(mapping, SETTINGS).read(DATA / "google-forms.csv", green_paper)
    assert [r.key for r in result.respondents] == ["row-2", "row-3", "row-4"]
    assert [r.respondent_type for r in result.respondents] == ["young_person", "parent_carer", "professional"]
    assert [r.consent_to_quote for r in result.respondents] == [True, False, True]
    assert result.respondents[0].age_band == "16-19"
    q7 = [r.scale_answer for r in result.responses if r.question_number == 7]
    assert q7 == ["No", "Don't know", "Yes"]


def test_microsoft_forms_xlsx(green_paper: FrameworkSpec, microsoft_forms_xlsx: Path) -> None:
    mapping = guess_mapping(microsoft_forms_xlsx, green_paper, SETTINGS)
    got = kinds(mapping)
    assert got["A"][0] == "respondent_id"
    assert got["D"][0] == got["E"][0] == "ignore"  # Email, Name
    assert got["F"] == ("respondent_attribute", None, "respondent_type")
    assert got["G"] == ("closed_question", 9, None)
    assert got["H"] == ("open_question", 9, None)
    assert got["I"] == ("open_question", 4, None)
    result = SurveyImporter(None, SETTINGS).read(microsoft_forms_xlsx, green_paper)
    assert [r.key for r in result.respondents] == ["1", "2", "3"]
    assert result.respondents[1].respondent_type == "professional"  # "SENCo"
    answers = {(r.respondent_key, r.question_number): r for r in result.responses}
    assert answers["2", 9].scale_answer == "Strongly disagree"
    assert answers["1", 9].text == "Time to do the job."
    assert "Pat Example" not in repr(result)


# --- The mapping as YAML -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["citizen-space.csv", "surveymonkey.csv", "qualtrics.csv", "google-forms.csv"])
def test_yaml_round_trip(green_paper: FrameworkSpec, name: str, tmp_path: Path) -> None:
    mapping = guess_mapping(DATA / name, green_paper, SETTINGS)
    text = mapping.to_yaml()
    assert text.startswith("# Column mapping")
    again = ColumnMapping.from_yaml(text)
    assert (again.dialect, again.header_rows, again.columns) == (
        mapping.dialect,
        mapping.header_rows,
        mapping.columns,
    )
    saved = tmp_path / "mapping.yaml"
    saved.write_text(text, encoding="utf-8")
    from_file = ColumnMapping.from_yaml(saved)
    assert from_file.columns == mapping.columns
    assert from_file.source == str(saved)
    assert ColumnMapping.from_yaml(str(saved)).columns == mapping.columns


def test_edited_mapping_is_used(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    mapping = guess_mapping(DATA / "citizen-space.csv", green_paper, SETTINGS)
    text = mapping.to_yaml().replace(
        "header: Local authority area\n  kind: respondent_attribute\n  attribute: area",
        "header: Local authority area\n  kind: respondent_attribute\n  attribute: council",
    )
    text = text.replace(
        "header: Q9. Please explain your answer\n  kind: open_question",
        "header: Q9. Please explain your answer\n  kind: ignore",
    )
    text = text.replace("kind: ignore\n  question: 9", "kind: ignore")
    edited = ColumnMapping.from_yaml(text)
    result = SurveyImporter(edited, SETTINGS).read(DATA / "citizen-space.csv", green_paper)
    assert result.respondents[0].area is None
    assert result.respondents[0].attributes["council"] == "Northfield"
    q9 = next(r for r in result.responses if r.respondent_key == "ANON-1001" and r.question_number == 9)
    assert q9.text is None


def test_mapping_finds_moved_columns_by_header(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    mapping = guess_mapping(DATA / "citizen-space.csv", green_paper, SETTINGS)
    lines = (DATA / "citizen-space.csv").read_text(encoding="utf-8").splitlines()
    # Swap the first two columns of every line (no commas inside those two cells).
    moved = tmp_path / "moved.csv"
    moved.write_text("\n".join(",".join([b, a, rest]) for a, b, rest in (line.split(",", 2) for line in lines)) + "\n")
    result = SurveyImporter(mapping, SETTINGS).read(moved, green_paper)
    assert [r.key for r in result.respondents] == ["ANON-1001", "ANON-1002", "ANON-1004"]


def test_mapping_column_missing_from_file(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    mapping = guess_mapping(DATA / "citizen-space.csv", green_paper, SETTINGS)
    mapping.source = "cs-mapping.yaml"
    other = tmp_path / "other.csv"
    other.write_text("Response ID,Something else\nA,b\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"is not in other\.csv") as info:
        SurveyImporter(mapping, SETTINGS).read(other, green_paper)
    assert str(info.value).startswith("cs-mapping.yaml")


def test_personal_data_is_never_imported_even_if_mapped(green_paper: FrameworkSpec) -> None:
    mapping = guess_mapping(DATA / "citizen-space.csv", green_paper, SETTINGS)
    email = next(rule for rule in mapping.columns if rule.letter == "F")
    email.kind, email.attribute = "respondent_attribute", "email"
    with pytest.raises(BadInputError, match="personal data") as info:
        SurveyImporter(mapping, SETTINGS).read(DATA / "citizen-space.csv", green_paper)
    assert info.value.field == "What is your email address?"


def test_mapping_question_not_in_framework(green_paper: FrameworkSpec) -> None:
    mapping = guess_mapping(DATA / "citizen-space.csv", green_paper, SETTINGS)
    next(rule for rule in mapping.columns if rule.letter == "G").question_number = 99
    with pytest.raises(BadInputError, match="question 99 is not in the framework"):
        SurveyImporter(mapping, SETTINGS).read(DATA / "citizen-space.csv", green_paper)


GOOD_ENTRY = "  - {column: A, header: Response ID, kind: respondent_id}\n"


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ("dialect: typeform\ncolumns:\n" + GOOD_ENTRY, "unknown dialect", "dialect"),
        ("header_rows: 9\ncolumns:\n" + GOOD_ENTRY, "header_rows must be", "header_rows"),
        ("columns: []\n", "lists no columns", "columns"),
        (
            "columns:\n  - {column: B, header: Q, kind: opinion}\n",
            "unknown kind 'opinion'",
            "columns entry 1 ('Q')",
        ),
        (
            "columns:\n  - {column: B, header: Q, kind: open_question}\n",
            "needs `question:`",
            "columns entry 1 ('Q')",
        ),
        ("columns:\n  - {column: B, header: Q, kind: ignore, question: 3}\n", "only question columns", None),
        ("columns:\n  - {column: B, header: Age, kind: respondent_attribute}\n", "needs `attribute:`", None),
        ("columns:\n  - {column: 2, header: Q, kind: ignore}\n", "spreadsheet letter", None),
        ("columns:\n  - {column: B, kind: ignore}\n", "header must be", None),
        ("columns:\n  - {column: B, header: Q, kind: ignore, colour: red}\n", "unknown key 'colour'", None),
        (
            "columns:\n" + GOOD_ENTRY + "  - {column: B, header: ID, kind: respondent_id}\n",
            "at most one",
            None,
        ),
        (
            "columns:\n" + GOOD_ENTRY + "  - {column: A, header: X, kind: ignore}\n",
            "column A is listed twice",
            None,
        ),
        (
            "columns:\n  - {column: B, header: Age, kind: respondent_attribute, attribute: age}\n"
            "  - {column: C, header: How old, kind: respondent_attribute, attribute: age}\n",
            "two columns give the attribute 'age'",
            "age",
        ),
        ("columns: [unclosed\n", "not valid YAML at line 2", None),
    ],
)
def test_mapping_validation_names_file_and_entry(tmp_path: Path, body: str, message: str, field: str | None) -> None:
    path = tmp_path / "survey-mapping.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(BadInputError, match=message) as info:
        ColumnMapping.from_yaml(path)
    assert str(info.value).startswith(str(path))
    if field is not None:
        assert info.value.field == field


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read the mapping file"):
        ColumnMapping.from_yaml(tmp_path / "nowhere.yaml")


# --- Bad survey files --------------------------------------------------------------------------


def test_duplicate_respondent_ids_name_both_rows(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "dupes.csv"
    text = (DATA / "citizen-space.csv").read_text(encoding="utf-8").replace("ANON-1004", "ANON-1002")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInputError, match="'ANON-1002' is in row 3 and again in row 5") as info:
        SurveyImporter(None, SETTINGS).read(path, green_paper)
    assert (info.value.row, info.value.field) == (5, "Response ID")
    assert "dupes.csv" in str(info.value)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_survey_in_other_encodings(green_paper: FrameworkSpec, tmp_path: Path, encoding: str) -> None:
    text = (DATA / "citizen-space.csv").read_text(encoding="utf-8")
    text = text.replace("Standards must be aspirational", "Standards – the school’s café – must be aspirational")
    path = tmp_path / f"export-{encoding}.csv"
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    result = SurveyImporter(None, SETTINGS).read(path, green_paper)
    assert result.responses[0].text.startswith("Standards – the school’s café –")
    assert result.respondents[0].key == "ANON-1001"


def test_ragged_survey_row(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    lines = (DATA / "citizen-space.csv").read_text(encoding="utf-8").splitlines()
    lines[2] += ",extra"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="13 cells but the header has 12") as info:
        SurveyImporter(None, SETTINGS).read(path, green_paper)
    assert "ragged.csv, row 3" in str(info.value)


def test_duplicated_survey_column(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "dupcol.csv"
    path.write_text("Response ID,Local authority area,Local Authority Area\nA,x,y\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="appears twice") as info:
        guess_mapping(path, green_paper, SETTINGS)
    assert info.value.field == "Local Authority Area"


def test_empty_survey_file(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(BadInputError, match="empty") as info:
        SurveyImporter(None, SETTINGS).read(path, green_paper)
    assert "empty.csv" in str(info.value)


def test_copied_fixture_keeps_working(green_paper: FrameworkSpec, tmp_path: Path) -> None:
    # The importer needs nothing beside the file: no sidecar, no cache.
    copy = shutil.copy(DATA / "surveymonkey.csv", tmp_path / "export.csv")
    assert len(SurveyImporter(None, SETTINGS).read(Path(copy), green_paper).respondents) == 3


# --- Values ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Parent or carer", "parent_carer"),
        ("parent/carer", "parent_carer"),
        ("Young person", "young_person"),
        ("A young carer", "young_person"),
        ("Organisation", "organisation"),
        ("On behalf of an organisation", "organisation"),
        ("Professional", "professional"),
        ("Local authority", "local_authority"),
        ("On behalf of a local authority", "local_authority"),
        ("Parent carer forum", "parent_carer_forum"),
        ("Child", "child"),
        ("School or setting", "school_or_setting"),
        ("Health or care service", "health_or_care"),
        ("Prefer not to say", "unknown"),
        ("Other", "other"),
        ("Childminder", None),
    ],
)
def test_respondent_types(written: str, key: str | None) -> None:
    assert respondent_type_of(written) == key
    assert key is None or key in RESPONDENT_TYPES


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("yes", True),
        ("Y", True),
        ("TRUE", True),
        ("1", True),
        ("Yes, you can quote me", True),
        ("no", False),
        ("False", False),
        ("0", False),
        ("No thank you", False),
        ("not sure", None),
        ("n/a", None),
    ],
)
def test_consent_values(written: str, value: bool | None) -> None:
    assert consent_of(written) is value


@pytest.mark.parametrize(
    ("written", "option"),
    [
        ("Neither", "Neither agree nor disagree"),
        ("neutral", "Neither agree nor disagree"),
        ("STRONGLY AGREE", "Strongly agree"),
        ("Strongly Agre", "Strongly agree"),
        ("disagree.", "Disagree"),
        ("Somewhat", None),
        ("strongly", None),
    ],
)
def test_agree_scale_answers(green_paper: FrameworkSpec, written: str, option: str | None) -> None:
    question = green_paper.question(6)
    assert question is not None
    assert closed_answer_of(written, question.options) == option


@pytest.mark.parametrize(
    ("written", "option"),
    [("y", "Yes"), ("NO", "No"), ("dont know", "Don't know"), ("Not sure", "Don't know")],
)
def test_yes_no_answers(green_paper: FrameworkSpec, written: str, option: str) -> None:
    question = green_paper.question(7)
    assert question is not None
    assert closed_answer_of(written, question.options) == option


def test_sample_corpus(green_paper: FrameworkSpec) -> None:
    path = SAMPLES / "survey-citizen-space-send.csv"
    assert detect_dialect(path) == "citizen_space"
    result = SurveyImporter(None, SETTINGS).read(path, green_paper)
    assert (len(result.respondents), result.rejected) == (40, [])
    assert {r.question_number for r in result.responses} == {1, 4, 5, 6, 9}
    scale = [r for r in result.responses if r.question_number in (6, 9)]
    assert all(r.scale_answer in (None, *AGREE_SCALE) for r in scale)
    assert all(r.closed_answer is None for r in scale)
    assert sum(r.scale_answer is not None for r in scale) > 60
    assert "example.org" not in repr(result.respondents)
    assert any("07700 900461" in (r.text or "") for r in result.responses)  # for redaction to find
