"""Quotes for a finding: representative, different from each other, and from different kinds of people.

Maximal marginal relevance (MMR): each pick maximises
``lambda * relevance - (1 - lambda) * redundancy``, where relevance is the cosine to the finding's
centre vector and redundancy the highest cosine to a quote already picked (``lambda`` = 0.7).

Rules on top of MMR:

* Only candidates with ``consent_to_quote=True``; the others are listed in ``unprocessed`` with
  "no consent to quote".
* The text is quoted exactly as given, which is the redacted text; nothing is restored.
* Length: under ``min_words`` (5) words is too short to stand alone and is skipped. Over
  ``max_words`` (60) the quote is cut after the last whole sentence that fits and ends with
  " […]", the usual mark for omitted words; a first sentence already over the limit is skipped.
  Relevance is still judged on the whole segment.
* At most one quote per respondent.
* A candidate whose cosine to a picked quote is at least ``duplicate_similarity`` (0.95), or whose
  text has the same words (ignoring case and punctuation), is never picked: MMR alone only
  discourages near-duplicates.
* Spread across respondent types: when a candidate whose type is not yet represented scores
  within ``type_tolerance`` (0.05) of the best candidate, whose type is, the new type wins.
  Ties go to the earlier candidate, so the same input always gives the same quotes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coproduce.pipeline.base import Quote, QuoteCandidate, StageResult, Unprocessed

SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
WORD = re.compile(r"\w+")
OMITTED = " […]"


@dataclass(frozen=True)
class QuoteSettings:
    diversity_lambda: float = 0.7
    min_words: int = 5
    max_words: int = 60
    type_tolerance: float = 0.05
    duplicate_similarity: float = 0.95

    def __post_init__(self) -> None:
        if not 0 <= self.diversity_lambda <= 1:
            raise ValueError("diversity_lambda must be between 0 and 1")


def fit_length(text: str, min_words: int, max_words: int) -> tuple[str | None, str]:
    """(the text to quote or None, why not): cut at a sentence boundary when too long."""
    count = len(text.split())
    if count < min_words:
        return None, f"too short to quote ({count} words)"
    if count <= max_words:
        return text.strip(), ""
    kept: list[str] = []
    used = 0
    for sentence in SENTENCE_END.split(text.strip()):
        n = len(sentence.split())
        if used + n > max_words:
            break
        kept.append(sentence)
        used += n
    if used < min_words:
        return None, f"too long to quote ({count} words, no sentence break within {max_words})"
    return " ".join(kept) + OMITTED, ""


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


def _same_text(a: str, b: str) -> bool:
    return WORD.findall(a.lower()) == WORD.findall(b.lower())


class MMRQuotePicker:
    def __init__(self, settings: QuoteSettings | None = None):
        self.settings = settings or QuoteSettings()

    def pick(
        self, candidates: Sequence[QuoteCandidate], vectors: np.ndarray, centre: np.ndarray, k: int
    ) -> StageResult[Quote]:
        if len(candidates) != len(vectors):
            raise ValueError(f"{len(candidates)} candidates but {len(vectors)} vectors")
        s = self.settings
        result: StageResult[Quote] = StageResult(items=[])
        pool: list[int] = []
        texts: dict[int, str] = {}
        for i, candidate in enumerate(candidates):
            item = f"segment {candidate.segment[0]}:{candidate.segment[1]}"
            if not candidate.consent_to_quote:
                result.unprocessed.append(Unprocessed(item=item, reason="no consent to quote"))
                continue
            text, why = fit_length(candidate.text, s.min_words, s.max_words)
            if text is None:
                result.unprocessed.append(Unprocessed(item=item, reason=why))
                continue
            texts[i] = text
            pool.append(i)
        if not pool or k <= 0:
            return result
        unit = _unit(vectors)
        relevance = unit @ _unit(centre)
        redundancy = np.zeros(len(candidates))
        picked: list[int] = []
        while pool and len(picked) < k:
            scores = {i: s.diversity_lambda * relevance[i] - (1 - s.diversity_lambda) * redundancy[i] for i in pool}
            best = max(scores.values())
            near = [i for i in pool if scores[i] >= best - s.type_tolerance]
            types = {candidates[j].respondent_type for j in picked}
            fresh = [i for i in near if candidates[i].respondent_type not in types]
            choice = max(fresh or near, key=lambda i: (scores[i], -i))
            picked.append(choice)
            result.items.append(
                Quote(
                    segment=candidates[choice].segment,
                    text=texts[choice],
                    respondent_type=candidates[choice].respondent_type,
                    score=round(float(scores[choice]), 4),
                )
            )
            similarity = unit @ unit[choice]
            redundancy = np.maximum(redundancy, similarity)
            pool = [
                i
                for i in pool
                if candidates[i].respondent_id != candidates[choice].respondent_id
                and similarity[i] < s.duplicate_similarity
                and not _same_text(texts[i], texts[choice])
            ]
        return result
