"""Personal-data redaction with Presidio, spaCy's installed small English pipeline and UK recognisers.

Building the analyzer loads spaCy and compiles every recogniser, which takes seconds, so it is built
once per process per pipeline name (``load_analyzer`` is cached) and shared by every ``PresidioRedactor``.
Nothing here touches the network: the pipeline must already be installed (Presidio would otherwise
try to download one) and e-mail validation reads tldextract's bundled suffix list.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from coproduce.config import Settings
from coproduce.errors import ModelMissingError
from coproduce.nlp import SPACY_PACKAGES
from coproduce.privacy.base import DetectedEntity, RedactionResult
from coproduce.privacy.proper_nouns import common_english_words
from coproduce.privacy.recognisers import build_recognisers
from coproduce.privacy.vocabulary import TITLES, is_send_vocabulary

LANGUAGE = "en"


# Presidio's names for what it finds -> our placeholder types. Our own recognisers already use ours.
ENTITY_TO_PLACEHOLDER = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "PHONE": "PHONE",
    "URL": "URL",
    "POSTCODE": "POSTCODE",
    "ADDRESS": "ADDRESS",
    "NHS_NUMBER": "NHS_NUMBER",
    "DATE_OF_BIRTH": "DATE_OF_BIRTH",
    "SCHOOL": "SCHOOL",
}

# spaCy labels other than PERSON: places, organisations and dates are the substance of a SEND
# consultation ("Ofsted", "the LA", "in March 2022"), so only names of people are taken from the model.
_IGNORED_SPACY_LABELS = [
    "CARDINAL",
    "DATE",
    "EVENT",
    "FAC",
    "GPE",
    "LANGUAGE",
    "LAW",
    "LOC",
    "MONEY",
    "NORP",
    "ORDINAL",
    "ORG",
    "PERCENT",
    "PRODUCT",
    "QUANTITY",
    "TIME",
    "WORK_OF_ART",
]


def pip_requirement(pipeline: str) -> str:
    """The pip requirement that installs ``pipeline``."""
    return SPACY_PACKAGES.get(pipeline, pipeline.replace("_", "-"))


def _pipeline_installed(pipeline: str) -> bool:
    return importlib.util.find_spec(pipeline) is not None or Path(pipeline).exists()


def require_pipeline(pipeline: str) -> None:
    """Raise ModelMissingError, naming the package to install, unless the spaCy pipeline is installed."""
    if not _pipeline_installed(pipeline):
        raise ModelMissingError(
            f"The spaCy pipeline {pipeline!r} used for redaction is not installed. "
            f"Install it with: pip install {pip_requirement(pipeline)}"
        )


@functools.lru_cache(maxsize=4)
def load_analyzer(pipeline: str) -> AnalyzerEngine:
    """The Presidio analyzer for one spaCy pipeline, built once per process."""
    # Checked first because Presidio's SpacyNlpEngine downloads a missing pipeline instead of failing.
    require_pipeline(pipeline)
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": pipeline}],
            "ner_model_configuration": {"labels_to_ignore": _IGNORED_SPACY_LABELS},
        }
    ).create_engine()
    nlp = nlp_engine.get_nlp(LANGUAGE)
    # Nothing here reads the dependency parse (the recognisers use the tagger's tags and lemmas, and the
    # NER has its own tok2vec), and the parser is about a quarter of spaCy's time per text.
    if "parser" in nlp.pipe_names:
        nlp.disable_pipe("parser")
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.add_recognizer(SpacyRecognizer(supported_language=LANGUAGE, supported_entities=["PERSON"]))
    for recogniser in build_recognisers(common_english_words(nlp)):
        registry.add_recognizer(recogniser)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])


def get_redactor(settings: Settings | None = None) -> PresidioRedactor:
    """The process-wide redactor for these settings (built on first use, then reused)."""
    settings = settings or Settings()
    return _redactor(settings.spacy_model, settings.redaction_min_score)


@functools.lru_cache(maxsize=8)
def _redactor(pipeline: str, min_score: float) -> PresidioRedactor:
    return PresidioRedactor(Settings(spacy_model=pipeline, redaction_min_score=min_score))


class PresidioRedactor:
    """Replaces personal data with typed placeholders such as "[PERSON]"; implements ``Redactor``.

    Cheap to construct after the first one in a process: the analyzer is shared (see ``load_analyzer``).
    """

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.min_score = settings.redaction_min_score
        self.analyzer = load_analyzer(settings.spacy_model)

    def detect(self, text: str) -> list[DetectedEntity]:
        """Personal data in ``text``, in reading order, with no two spans overlapping."""
        results = self.analyzer.analyze(text=text, language=LANGUAGE, score_threshold=self.min_score)
        return resolve_entities(text, results)

    def redact(self, text: str) -> RedactionResult:
        return apply_placeholders(text, self.detect(text))

    def redact_many(self, texts: Iterable[str], batch_size: int = 64) -> list[RedactionResult]:
        """Redact many texts, running spaCy over them in batches (``nlp.pipe``), which is several times
        faster than one ``redact`` call per text."""
        texts = list(texts)
        batches = BatchAnalyzerEngine(self.analyzer).analyze_iterator(
            texts, language=LANGUAGE, batch_size=batch_size, score_threshold=self.min_score
        )
        return [
            apply_placeholders(text, resolve_entities(text, results))
            for text, results in zip(texts, batches, strict=True)
        ]


def resolve_entities(text: str, results: Sequence[RecognizerResult]) -> list[DetectedEntity]:
    """Map Presidio results to our placeholder types, drop SEND vocabulary taken for names, and merge
    overlapping detections so that no placeholder is nested in another."""
    spans = []
    for result in results:
        placeholder = ENTITY_TO_PLACEHOLDER.get(result.entity_type)
        if placeholder is None:
            continue
        start, end = _trim(text, result.start, result.end)
        if placeholder == "PERSON":
            start, end = _trim_send_vocabulary(text, start, end)
            if _CONDITION_AFTER.match(text, end):
                continue  # "Rett syndrome", "Tourette's": a condition named after a doctor
        if start >= end:
            continue
        spans.append(DetectedEntity(placeholder, start, end, round(result.score, 3)))
    return merge_overlaps(spans)


def merge_overlaps(spans: Iterable[DetectedEntity]) -> list[DetectedEntity]:
    """Merge overlapping spans into one covering them all.

    Keeping only one of two partly overlapping spans would leak the part of the other that sticks out,
    so the merged span covers the union. It is typed after its longest, then highest-scoring, member;
    a shape-checked type (postcode, URL, school ...) beats PERSON, because spaCy's small model readily
    calls "Bradford BD7 4QX" or a web address a person.
    """
    merged: list[DetectedEntity] = []
    group: list[DetectedEntity] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if group and span.start < max(member.end for member in group):
            group.append(span)
            continue
        if group:
            merged.append(_merge_group(group))
        group = [span]
    if group:
        merged.append(_merge_group(group))
    return merged


def _merge_group(group: list[DetectedEntity]) -> DetectedEntity:
    winner = max(group, key=lambda s: (s.type != "PERSON", s.end - s.start, s.score))
    return DetectedEntity(
        winner.type, min(s.start for s in group), max(s.end for s in group), max(s.score for s in group)
    )


def apply_placeholders(text: str, entities: Sequence[DetectedEntity]) -> RedactionResult:
    """Replace each (non-overlapping) entity with "[TYPE]"."""
    pieces = []
    cursor = 0
    for entity in sorted(entities, key=lambda e: e.start):
        pieces.append(text[cursor : entity.start])
        pieces.append(f"[{entity.type}]")
        cursor = entity.end
    pieces.append(text[cursor:])
    return RedactionResult(original=text, redacted="".join(pieces), entities=list(entities))


_EDGE_PUNCTUATION = " \t\n\r.,;:!?\"'“”‘’"


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span past surrounding spaces, punctuation, unmatched brackets and a trailing "'s"."""
    changed = True
    while changed and start < end:
        changed = False
        span = text[start:end]
        if span[0] in _EDGE_PUNCTUATION or (span[0] in "([" and ")" not in span and "]" not in span):
            start, changed = start + 1, True
        elif span[-1] in _EDGE_PUNCTUATION or (span[-1] in ")]" and "(" not in span and "[" not in span):
            end, changed = end - 1, True
    if end - start > 2 and text[end - 2 : end] in ("'s", "’s"):
        end -= 2
    return start, end


def _trim_send_vocabulary(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop SEND words from the edges of a name ("TA Mrs Green" -> "Mrs Green"), words before a title
    ("Contact Mrs Begum" -> "Mrs Begum"), and the whole span when it is SEND vocabulary or part of a
    SEND phrase ("Local Offer", "SENCo", "Language Therapy" in "Speech and Language Therapy")."""
    if _inside_send_phrase(text, start, end):
        return start, start
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    titled = [i for i, (s, e) in enumerate(words) if i > 0 and text[s:e].rstrip(".") in TITLES]
    if titled:
        words = words[titled[0] :]
    while words and is_send_vocabulary(text[words[0][0] : words[0][1]]):
        if len(words) > 1 and text[words[0][0] : words[0][1]].rstrip(".") in TITLES:
            break  # "Miss Hughes": the title stays with the name
        words.pop(0)
    while words and is_send_vocabulary(text[words[-1][0] : words[-1][1]]):
        words.pop()
    if not words:
        return start, start
    return _trim(text, words[0][0], words[-1][1])


_CONDITION_AFTER = re.compile(r"(?:'s|’s)?\s+(?:syndrome|disease|dystrophy|anomaly)\b", re.IGNORECASE)


def _inside_send_phrase(text: str, start: int, end: int, reach: int = 3) -> bool:
    """True when the span, widened by up to ``reach`` words either side, makes a SEND phrase."""
    window = 40 * reach  # characters: enough for ``reach`` words without scanning a whole long response
    before = re.findall(r"\S+", text[max(0, start - window) : start])[-reach:]
    after = re.findall(r"\S+", text[end : end + window])[:reach]
    core = text[start:end]
    for left in range(len(before) + 1):
        for right in range(len(after) + 1):
            phrase = " ".join([*before[len(before) - left :], core, *after[:right]])
            if is_send_vocabulary(phrase):
                return True
    return False
