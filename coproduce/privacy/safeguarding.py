"""Flag passages that may be safeguarding disclosures, for a person to read before anything else.

Each sentence is checked two ways. A curated lexicon (``safeguarding_cues``) catches what is said
plainly, minding negation ("I don't feel unsafe") and whether the sentence is about someone rather
than policy ("staff are trained on self-harm"). A similarity check catches what is said indirectly
("I wrote a goodbye letter"): the sentence's embedding is compared with example disclosures and with
ordinary sentences that share their words (``safeguarding_examples``), and flagged when it is close to
a disclosure and closer to it than to any ordinary sentence. Recall comes first: a missed disclosure
is worse than a false flag. Flags are metadata only; the text is never dropped or changed.

Sentences come from a light rule-based splitter rather than spaCy: it needs no model, is fast, and
young people's writing often has no full stops for a parser to use anyway; lines are always breaks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from coproduce.config import Settings
from coproduce.privacy.base import SafeguardingConcern
from coproduce.privacy.safeguarding_cues import (
    ADULT,
    ANCHOR,
    BY_A_THING,
    CLAUSE_BREAK,
    CUES,
    FATHER,
    HURT_CHILD,
    HURT_PARENT,
    HURT_PASSIVE,
    INJURY,
    KICKED_OUT,
    LOCKED_IN,
    MOTHER,
    NEGATION,
)
from coproduce.privacy.safeguarding_examples import CONTRASTS, DISCLOSURES

_BOUNDARY = re.compile(r"(?<=[.!?])[\"'”’)]*\s+|\s*\n\s*")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "prof", "e.g", "i.e", "etc", "vs", "no"})
NEGATION_WINDOW = 4  # words before a cue in which a negation cancels it
# Chosen on the development passages only (see docs/privacy.md): the lowest cosine similarity to an
# example disclosure that flags, and how much closer to it than to any contrast the sentence must be.
SIMILARITY_THRESHOLD = 0.45
SIMILARITY_MARGIN = 0.0


@dataclass(frozen=True)
class _Hit:
    category: str
    description: str
    words: str


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or line in ``text``, without surrounding whitespace."""
    spans = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        before = text[start : boundary.start()].rstrip(".!?\"'”’)").split()
        if "\n" not in boundary.group(0) and before and before[-1].lower() in _ABBREVIATIONS:
            continue  # "Mr. Smith" does not end a sentence
        spans.append((start, boundary.start()))
        start = boundary.end()
    spans.append((start, len(text)))
    return [_strip(text, s, e) for s, e in spans if text[s:e].strip()]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


class SafeguardingFlagger:
    """Implements ``SafeguardingDetector``.

    ``similarity=True`` (the default) adds the embedding check, using the project's installed
    sentence-embedding model (``coproduce.nlp.load_embedder``, loaded once per process); pass
    ``embedder`` to use another object: one with ``embed(texts)`` returning L2-normalised vectors
    (the analysis's cached ``SentenceEmbedder``, so a sentence embedded at import is not embedded
    again by the analysis) or one with a sentence-transformers ``encode``. ``similarity=False``
    uses the lexicon alone, needs no model and constructs instantly.
    """

    def __init__(
        self,
        similarity: bool = True,
        embedder: Any = None,
        threshold: float = SIMILARITY_THRESHOLD,
        margin: float = SIMILARITY_MARGIN,
    ) -> None:
        self.embedder = None
        if similarity:
            if embedder is None:
                from coproduce.nlp import load_embedder  # imports torch: only when asked for

                embedder = load_embedder()
            self.embedder = embedder
        self.threshold = threshold
        self.margin = margin

    def detect(self, text: str) -> list[SafeguardingConcern]:
        return self.detect_many([text])[0]

    def detect_many(self, texts: Iterable[str]) -> list[list[SafeguardingConcern]]:
        """Concerns for each text; sentences are embedded in one batch, which is much faster."""
        texts = list(texts)
        sentences = [(i, start, end) for i, text in enumerate(texts) for start, end in split_sentences(text)]
        similar = self._similar([texts[i][start:end] for i, start, end in sentences])
        results: list[list[SafeguardingConcern]] = [[] for _ in texts]
        for (i, start, end), likeness in zip(sentences, similar, strict=True):
            sentence = texts[i][start:end]
            by_category: dict[str, list[_Hit]] = {}
            for hit in _sentence_hits(sentence):
                by_category.setdefault(hit.category, []).append(hit)
            if likeness is not None and likeness.category not in by_category:
                by_category[likeness.category] = [likeness]
            for category, hits in by_category.items():
                results[i].append(SafeguardingConcern(category, start, end, _reason(hits)))
        return results

    def _similar(self, sentences: list[str]) -> list[_Hit | None]:
        """For each sentence, the example disclosure it reads like, if it is close enough."""
        if self.embedder is None or not sentences:
            return [None] * len(sentences)
        examples, categories, contrasts = _example_vectors(self.embedder)
        vectors = _unit_vectors(self.embedder, sentences)
        to_examples = vectors @ examples.T
        nearest_contrast = (vectors @ contrasts.T).max(axis=1)
        found: list[_Hit | None] = []
        for row, contrast in zip(to_examples, nearest_contrast, strict=True):
            best = int(row.argmax())
            score = float(row[best])
            if score >= self.threshold and score >= float(contrast) + self.margin:
                example, category = categories[best]
                found.append(_Hit(category, f"reads like a disclosure (similarity {score:.2f})", example))
            else:
                found.append(None)
        return found


def get_flagger(settings: Settings | None = None) -> SafeguardingFlagger:
    """The process-wide flagger, with the similarity check (the embedding model loads on first use).

    ``settings`` is accepted for symmetry with ``get_redactor``; no setting changes the flagger yet.
    """
    return _default_flagger()


@functools.lru_cache(maxsize=1)
def _default_flagger() -> SafeguardingFlagger:
    return SafeguardingFlagger()


@functools.lru_cache(maxsize=2)
def _example_vectors(embedder: Any) -> tuple[Any, list[tuple[str, str]], Any]:
    """Embeddings of the example disclosures (with their categories) and of the contrasts, once."""
    labelled = [(example, category) for category, examples in DISCLOSURES.items() for example in examples]
    examples = _unit_vectors(embedder, [example for example, _ in labelled])
    contrasts = _unit_vectors(embedder, list(CONTRASTS))
    return examples, labelled, contrasts


def _unit_vectors(embedder: Any, texts: list[str]) -> Any:
    """L2-normalised vectors from a cached ``embed`` (preferred) or a sentence-transformers ``encode``."""
    embed = getattr(embedder, "embed", None)
    if callable(embed):
        return embed(texts)
    return embedder.encode(texts, batch_size=64, normalize_embeddings=True)


def _sentence_hits(sentence: str) -> list[_Hit]:
    hits = []
    anchored = ANCHOR.search(sentence) is not None
    for cue in CUES:
        if cue.needs_anchor and not anchored:
            continue
        for m in cue.pattern.finditer(sentence):
            if cue.negatable and _negated(sentence, m.start()):
                continue
            hits.append(_Hit(cue.category, cue.description, m.group(0)))
    hits += _hurt_hits(sentence, anchored)
    return hits


def _hurt_hits(sentence: str, anchored: bool) -> list[_Hit]:
    """Someone being hurt: by an adult (harm_by_adult), by anyone else (harm), or a parent (domestic)."""
    hits = []
    for m in HURT_PARENT.finditer(sentence):
        if not _negated(sentence, m.start()):
            hits.append(_Hit("domestic_violence", "a parent being hurt", m.group(0)))
    for pattern in (HURT_CHILD, HURT_PASSIVE, LOCKED_IN):
        for m in pattern.finditer(sentence):
            if _negated(sentence, m.start()) or _previous_word(sentence, m.start()) == "it":
                continue  # "it hits him", "it hurts me to see": a thing, not a person, does it
            if pattern is HURT_PASSIVE and BY_A_THING.match(sentence, m.end()):
                continue  # "got hit by a ball"
            if KICKED_OUT.match(sentence, m.start()):
                continue
            if any(h.words in m.group(0) or m.group(0) in h.words for h in hits):
                continue
            hits.append(_classify_hurt(sentence, m, pattern is LOCKED_IN))
    if anchored:
        for m in INJURY.finditer(sentence):
            if not _negated(sentence, m.start()):
                # Injuries take the category of any hurt in the same sentence ("... it left bruises").
                category = hits[-1].category if hits else "harm"
                hits.append(_Hit(category, "injuries", m.group(0)))
    return hits


def _classify_hurt(sentence: str, m: re.Match[str], locked_in: bool) -> _Hit:
    words = m.group(0)
    victim = words.split()[-1].lower()
    if (victim == "her" and MOTHER.search(sentence)) or (victim == "him" and FATHER.search(sentence)):
        return _Hit("domestic_violence", "a parent being hurt", words)
    if locked_in or "restrain" in words.lower() or _adult_involved(sentence, m):
        return _Hit("harm_by_adult", "being hurt by an adult", words)
    return _Hit("harm", "being hurt", words)


def _adult_involved(sentence: str, m: re.Match[str]) -> bool:
    """An adult named before the hurt (the one doing it) or just after it in the same clause ("by my
    stepdad", "with a belt at home")."""
    after = CLAUSE_BREAK.split(sentence[m.end() :])[0]
    return ADULT.search(sentence[: m.start()]) is not None or ADULT.search(after) is not None


def _negated(sentence: str, position: int) -> bool:
    clause = CLAUSE_BREAK.split(sentence[:position])[-1]
    words = clause.split()[-NEGATION_WINDOW:]
    return NEGATION.search(" ".join(words)) is not None


def _previous_word(sentence: str, position: int) -> str:
    words = sentence[:position].split()
    return words[-1].lower() if words else ""


def _reason(hits: list[_Hit]) -> str:
    seen: dict[str, list[str]] = {}
    for hit in hits:
        quoted = f'"{hit.words}"'
        if quoted not in seen.setdefault(hit.description, []):
            seen[hit.description].append(quoted)
    return "; ".join(f"{description}: {', '.join(words)}" for description, words in seen.items())
