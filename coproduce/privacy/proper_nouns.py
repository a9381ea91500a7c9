"""A low-scoring fallback for names: capitalised proper nouns that spaCy's NER did not call a PERSON."""

from __future__ import annotations

import re

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.language import Language
from spacy.tokens import Doc, Token

from coproduce.privacy.vocabulary import GENERIC_SCHOOL_WORDS, NOT_A_NAME, is_send_vocabulary, words

_CALENDAR_WORDS = words(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday christmas easter
    """
)
_PLACES_AFTER = frozenset({"in", "at", "from", "to", "near", "into", "outside", "around", "of"})
_POSTCODE_OUTWARD = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$")
_NOT_A_PERSON_LABELS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})


class ProperNounRecognizer(LocalRecognizer):
    """Capitalised proper nouns that spaCy's small model did not call a PERSON, at a low score.

    The small model often labels a first name as a place or an organisation ("Bethany", "Jamal") or
    misses it at the start of a sentence. A missed name is a privacy failure while an extra placeholder
    only costs a word, so runs of proper nouns are redacted too, unless they look like a title-case
    phrase of ordinary words ("Language Therapy", "Special Educational Needs Coordinators"), SEND
    vocabulary, a date, an acronym, or a place ("in Bradford", "Wakefield WF1 3DP").

    ``common_words`` is a lexicon of ordinary English words (the pipeline's lemmatizer index); without
    it more capitalised ordinary words are redacted.
    """

    SCORE = 0.45

    def __init__(self, common_words: frozenset[str] = frozenset()) -> None:
        self.common_words = common_words
        super().__init__(supported_entities=["PERSON"], name="ProperNounRecognizer")

    def load(self) -> None:  # uses the spaCy tokens the analyzer already computed
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if nlp_artifacts is None or nlp_artifacts.tokens is None or (entities and "PERSON" not in entities):
            return []
        results = []
        for run in _capitalised_runs(nlp_artifacts.tokens):
            if self._run_is_name(run):
                results.append(self._result(run[0].idx, run[-1].idx + len(run[-1].text)))
        return results

    def _run_is_name(self, run: list[Token]) -> bool:
        for token in run:
            lower = token.lower_
            if token.tag_ == "NNPS" or token.text.isupper() or not token.is_alpha or len(token.text) < 2:
                return False  # plurals ("Coordinators") and acronyms ("EHCP") are not names
            if lower in NOT_A_NAME or lower in GENERIC_SCHOOL_WORDS or lower in _CALENDAR_WORDS:
                return False
            if token.ent_type_ in _NOT_A_PERSON_LABELS or _in_send_phrase(token):
                return False
        first, last, doc = run[0], run[-1], run[0].doc
        before = doc[first.i - 1] if first.i > 0 else None
        after = doc[last.i + 1] if last.i + 1 < len(doc) else None
        if first.ent_type_ in {"GPE", "LOC", "FAC"} and before is not None and before.lower_ in _PLACES_AFTER:
            return False
        if after is not None and _POSTCODE_OUTWARD.match(after.text):
            return False  # a town before its postcode
        ordinary = [self._is_ordinary(token) for token in run]
        if len(run) > 1:
            return not all(ordinary)
        if ordinary[0]:
            # "Referral made ...", "Inclusion and SEND", "the Board must": an ordinary word capitalised by
            # its position or by policy writing's habit of capitalising topics. Taken as a name only when it
            # is the subject of a finite verb or a possessive, as names so often are ("Rose was excluded").
            if _acronym_plural(first) or first.lemma_.lower() != first.lower_ or self._plural_noun(first):
                return False  # "MATs", "Schools", "Children": plurals are not first names
            if before is not None and before.pos_ == "DET":
                return False  # "the Board", "a Review": names do not take an article
            if _in_apposition(first):
                return True  # "The social worker, Gemma, has visited"
            return after is not None and (after.tag_ in {"VBZ", "VBD", "VBP", "MD", "POS"} or after.pos_ == "AUX")
        return not _acronym_plural(first)

    def _plural_noun(self, token: Token) -> bool:
        lower = token.lower_
        return lower.endswith("s") and (lower[:-1] in self.common_words or lower[:-2] in self.common_words)

    def _is_ordinary(self, token: Token) -> bool:
        lower = token.lower_
        forms = {lower, token.lemma_.lower()}
        if lower.endswith("s"):  # the lexicon holds lemmas: "coordinators" -> "coordinator"
            forms |= {lower[:-1], lower[:-2] if lower.endswith("es") else lower}
        return any(form in self.common_words for form in forms)

    def _result(self, start: int, end: int) -> RecognizerResult:
        return RecognizerResult(
            entity_type="PERSON",
            start=start,
            end=end,
            score=self.SCORE,
            analysis_explanation=AnalysisExplanation(
                recognizer=self.name, original_score=self.SCORE, textual_explanation="capitalised proper noun"
            ),
        )


def _in_apposition(token: Token) -> bool:
    """A single word set off by commas right after a noun: "the social worker, Gemma, said"."""
    doc = token.doc
    if token.i < 2 or token.i + 1 >= len(doc):
        return False
    return doc[token.i - 1].text == "," and doc[token.i - 2].pos_ == "NOUN" and doc[token.i + 1].text in {",", "."}


def _acronym_plural(token: Token) -> bool:
    """An acronym with a plural s, such as "MATs" or "SENCos"."""
    return len(token.text) > 2 and token.text.endswith("s") and token.text[:-1].isupper()


def _capitalised_runs(doc: Doc) -> list[list[Token]]:
    runs: list[list[Token]] = []
    run: list[Token] = []
    for token in doc:
        if token.pos_ == "PROPN" and token.text[:1].isupper():
            run.append(token)
            continue
        if run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def common_english_words(nlp: Language) -> frozenset[str]:
    """Ordinary English words from a spaCy pipeline's rule lemmatizer index, if it has one."""
    if "lemmatizer" not in nlp.pipe_names:
        return frozenset()
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return frozenset()
    index = lookups.get_table("lemma_index")
    lexicon: set[str] = set()
    for pos in ("noun", "verb", "adj", "adv"):
        if pos in index:
            lexicon.update(index[pos])
    return frozenset(lexicon)


def _in_send_phrase(token: Token) -> bool:
    """True when the token is part of a SEND phrase such as "Local Offer" or "Green Paper"."""
    doc = token.doc
    for size in (2, 3, 4):
        for first in range(max(0, token.i - size + 1), min(token.i, len(doc) - size) + 1):
            if is_send_vocabulary(doc[first : first + size].text):
                return True
    return False
