"""Free-form submissions (.txt, .docx, .pdf): find each framework question, take the answer after it.

Organisations and forums often answer a consultation by pasting the questions into a document
and writing beneath each. The questions come back slightly changed (another published
wording, a stray closing quote, wrapped lines in a PDF), so each is found by fuzzy matching
against the framework's wordings; the answer runs up to the next question found. An
agree/disagree answer written at the end of a question line is taken as the scale answer.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.model import AGREE_SCALE, FrameworkSpec, QuestionSpec
from coproduce.importers.base import ImportedRespondent, ImportedResponse, ImportResult, Rejection
from coproduce.importers.files import ZIP_PART_ERRORS, check_zip_container, decode_text, read_checked

# Web pages copied into a document bring their furniture with them.
PAGE_DEBRIS = re.compile(
    r"^(skip to (main )?content|back to top|page \d+( of \d+)?|\d{1,3}|print this page|share this page"
    r"|cookie settings|accept (all )?cookies|menu|search)$",
    re.IGNORECASE,
)
# A paragraph break written as space, no-break space, space (as web forms paste them).
NBSP_PARAGRAPH_BREAK = re.compile(r"[ \t]\u00a0[ \t][ \t\u00a0]*")
SHORT_SCALE_ANSWERS = {"neither": "Neither agree nor disagree", "neutral": "Neither agree nor disagree"}
TRAILING_PUNCTUATION = "?.!:;,’'\"”)]"
MAX_LINES_PER_QUESTION = 6  # a wrapped question in a PDF spans a few lines at most


@dataclass(frozen=True)
class _Match:
    question: QuestionSpec
    first_line: int
    last_line: int
    score: float
    tail: str  # text after the question on its last line


def extract_text(path: Path, data: bytes, settings: Settings) -> str:
    """The document's text, one paragraph per line."""
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return decode_text(data, path)
    if suffix == ".docx":
        return _docx_text(path, data, settings)
    if suffix == ".pdf":
        return _pdf_text(path, data)
    raise BadInputError(
        f"cannot read {suffix or 'files without an extension'} as a free-form submission",
        file=path,
        hint="Save the submission as .txt, .docx or .pdf",
    )


def _docx_text(path: Path, data: bytes, settings: Settings) -> str:
    import docx
    from docx.opc.exceptions import OpcError
    from docx.table import Table
    from lxml import etree

    check_zip_container(path, data, settings)
    lines: list[str] = []
    try:
        document = docx.Document(io.BytesIO(data))
        # Tables are read lazily, so a broken table (a bad cell span) fails here, not on opening.
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    for cell in row.cells:
                        lines.extend(p.text for p in cell.paragraphs)
            else:
                lines.append(block.text)
    except (
        OpcError,  # not a Word package at all
        KeyError,  # a part the package lists is missing
        ValueError,  # a value in the XML (a number, a relationship) is malformed
        TypeError,
        IndexError,
        AttributeError,
        etree.LxmlError,  # a part's XML edited or cut short
        *ZIP_PART_ERRORS,  # the zip itself damaged (found by fuzzing)
    ) as exc:
        raise BadInputError(
            f"not a readable Word document ({type(exc).__name__}: {exc})",
            file=path,
            hint="Open it in Word and save it again as .docx, or save it as .txt",
        ) from None
    return "\n".join(lines)


def _pdf_text(path: Path, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise BadInputError("the PDF is password-protected", file=path, hint="Save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, DependencyError) as exc:
        # PyPdfError covers read errors and the limits pypdf sets on declared stream lengths
        # (LimitReachedError); DependencyError is a filter (JBIG2) or cipher it cannot decode.
        raise BadInputError(
            f"not a readable PDF ({type(exc).__name__}: {exc})", file=path, hint="Export it to PDF again"
        ) from None
    except RecursionError:  # found by fuzzing: arrays or dictionaries nested thousands deep
        raise BadInputError(
            "not a readable PDF (its objects are nested too deeply)", file=path, hint="Export it to PDF again"
        ) from None
    text = "\n".join(pages)
    if not text.strip():
        raise BadInputError(
            "the PDF has no text layer (it may be a scan)", file=path, hint="Run OCR on it or supply the text"
        )
    return text


def split_paragraphs(text: str) -> list[str]:
    """Lines of the document with no-break-space paragraph breaks made real; blank lines kept as ''."""
    text = NBSP_PARAGRAPH_BREAK.sub("\n\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [line.strip() for line in text.split("\n")]


def reflow_paragraphs(lines: list[str]) -> list[str]:
    """Join the lines a PDF wrapped; a paragraph ends at a clearly short line ending a sentence."""
    if not lines:
        return []
    full_width = sorted(len(line) for line in lines)[int(0.9 * (len(lines) - 1))]
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        current.append(line)
        if len(line) < 0.75 * full_width and line.rstrip().endswith((".", "?", "!", ":", "’", '"')):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def _fold(text: str) -> str:
    """Lower-case and unify quotes and spaces without changing the length, so offsets still hold."""
    table = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " ", "\u202f": " ", "\t": " "})
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text.translate(table))


class FreeformImporter:
    name = "freeform"
    suffixes = (".txt", ".docx", ".pdf")

    def __init__(
        self,
        settings: Settings,
        respondent_type: str = "organisation",
        consent_to_quote: bool = False,
        respondent_name: str | None = None,
    ):
        self.settings = settings
        self.respondent_type = respondent_type
        self.consent_to_quote = consent_to_quote
        self.respondent_name = respondent_name

    def read(self, path: Path, framework: FrameworkSpec) -> ImportResult:
        data = read_checked(path, self.settings)
        text = extract_text(path, data, self.settings)
        return self.read_text(text, path, framework, reflow=path.suffix.lower() == ".pdf")

    def read_text(self, text: str, path: Path, framework: FrameworkSpec, reflow: bool = False) -> ImportResult:
        """Import already-extracted text; ``reflow`` joins lines a PDF wrapped back into paragraphs."""
        if not framework.questions:
            raise BadInputError(
                "the project's framework has no questions to look for",
                file=path,
                hint="Use a framework with questions, or import the text as family feedback",
            )
        lines = split_paragraphs(text)
        result = ImportResult(importer=self.name)
        matches = self._find_questions(lines, framework)
        if not matches:
            raise BadInputError(
                "none of the framework's questions were found in the text",
                file=path,
                hint="Check that the document repeats the consultation questions, or import it as family feedback",
            )
        respondent = ImportedRespondent(
            key=path.name,
            respondent_type=self.respondent_type,
            external_id=self.respondent_name or path.stem,
            consent_to_quote=self.consent_to_quote,
        )
        result.respondents.append(respondent)

        found = {m.question.number for m in matches}
        result.notes.extend(
            f"question {q.number} was not found in the text" for q in framework.questions if q.number not in found
        )
        first = matches[0].first_line
        self._reject_lines(result, lines, 0, first, "text before the first question; not part of any answer")
        for index, match in enumerate(matches):
            end = matches[index + 1].first_line if index + 1 < len(matches) else len(lines)
            scale_answer, lead_in = self._scale_answer(match)
            paragraphs = [lead_in] if lead_in else []
            for number in range(match.last_line + 1, end):
                line = lines[number]
                if not line:
                    continue
                if PAGE_DEBRIS.match(line):
                    result.rejected.append(Rejection(f"line {number + 1}", "page debris, not part of the answer", line))
                    continue
                if not paragraphs and scale_answer is None and match.question.options:
                    # The closed answer on a line of its own under the question (or wrapped onto one).
                    scale_answer = _closed_answer(line.rstrip(TRAILING_PUNCTUATION), match.question.options)
                    if scale_answer is not None:
                        continue
                paragraphs.append(line)
            answer = "\n\n".join(reflow_paragraphs(paragraphs) if reflow else paragraphs)
            if not answer and scale_answer is None:
                result.rejected.append(
                    Rejection(f"line {match.first_line + 1}", f"question {match.question.number} has no answer")
                )
                continue
            result.responses.append(
                ImportedResponse(
                    respondent_key=respondent.key,
                    question_number=match.question.number,
                    text=answer or None,
                    scale_answer=scale_answer,
                    location=f"line {match.first_line + 1}",
                )
            )
        return result

    def _reject_lines(self, result: ImportResult, lines: list[str], start: int, end: int, reason: str) -> None:
        for number in range(start, end):
            if lines[number]:
                result.rejected.append(Rejection(f"line {number + 1}", reason, lines[number]))

    def _find_questions(self, lines: list[str], framework: FrameworkSpec) -> list[_Match]:
        """Best line (or run of wrapped lines) for each question; each line serves one question at most."""
        candidates: list[_Match] = []
        threshold = self.settings.question_match_threshold
        for question in framework.questions:
            wordings = [_fold(w) for w in question.wordings]
            for first in range(len(lines)):
                if not lines[first]:
                    continue
                joined = ""
                for last in range(first, min(first + MAX_LINES_PER_QUESTION, len(lines))):
                    if not lines[last]:
                        break
                    joined = f"{joined} {lines[last]}" if joined else lines[last]
                    match = self._match_at_start(joined, wordings, threshold)
                    if match is not None:
                        score, end = match
                        candidates.append(_Match(question, first, last, score, joined[end:]))
                    if len(joined) >= max(len(w) for w in wordings):
                        break
        chosen: dict[int, _Match] = {}
        used_lines: set[int] = set()
        for cand in sorted(candidates, key=lambda c: (-c.score, c.first_line)):
            span = set(range(cand.first_line, cand.last_line + 1))
            if cand.question.number in chosen or span & used_lines:
                continue
            chosen[cand.question.number] = cand
            used_lines |= span
        return sorted(chosen.values(), key=lambda m: m.first_line)

    @staticmethod
    def _match_at_start(line: str, wordings: list[str], threshold: float) -> tuple[float, int] | None:
        """(score, end offset of the question in ``line``) if the line starts with one of the wordings."""
        folded = _fold(line)
        best: tuple[float, int] | None = None
        for wording in wordings:
            if len(folded) < 0.8 * len(wording):
                continue
            alignment = fuzz.partial_ratio_alignment(wording, folded, score_cutoff=threshold)
            if alignment is None or alignment.dest_start > 3:
                continue
            # A line shorter than the question matches some part of it perfectly: score what it covers.
            score = alignment.score * min(1.0, len(folded) / len(wording))
            if score < threshold:
                continue
            end = _extend_question_end(folded, alignment.dest_end)
            if best is None or score > best[0]:
                best = (score, end)
        return best

    def _scale_answer(self, match: _Match) -> tuple[str | None, str]:
        """Split the text after a question into its scale answer (if any) and the start of the answer."""
        tail = match.tail.strip().lstrip(TRAILING_PUNCTUATION).strip()
        if not tail:
            return None, ""
        if not match.question.options:  # an open question: whatever follows is the answer
            return None, tail
        found = _closed_answer(tail.rstrip(TRAILING_PUNCTUATION).strip(), match.question.options)
        if found is None and match.question.answer_type == "scale":
            found = _closed_answer(tail.rstrip(TRAILING_PUNCTUATION).strip(), AGREE_SCALE)
        if found is not None:
            return found, ""
        return None, tail


def _extend_question_end(folded: str, end: int) -> int:
    """Move the end past a word cut in half, and onto a nearby question mark the alignment stopped short of."""
    while end < len(folded) and folded[end].isalnum():
        end += 1
    mark = folded.find("?", end, end + 40)
    if mark != -1 and not any(c in ".!" for c in folded[end:mark]):
        end = mark + 1
    while end < len(folded) and folded[end] in TRAILING_PUNCTUATION:
        end += 1
    return end


def _closed_answer(text: str, options: tuple[str, ...]) -> str | None:
    lowered = " ".join(text.lower().split())
    for option in options:
        if lowered == option.lower():
            return option
    short = SHORT_SCALE_ANSWERS.get(lowered)
    if short is not None and short in options:
        return short
    return None
