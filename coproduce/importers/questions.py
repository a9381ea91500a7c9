"""Recognise which framework question a header or cell refers to, by number or by wording."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from coproduce.frameworks.model import FrameworkSpec

DEFAULT_THRESHOLD = 80.0
# A header much shorter than a question's wording matches many questions equally well
# ("To what extent do you agree or disagree" begins six green paper questions), so such
# comparisons are skipped rather than trusted.
_MIN_SHARE_OF_WORDING = 0.4
_MIN_WORDS = 4
# Two questions scoring this close are a tie: better no answer than a coin toss.
_TIE_MARGIN = 2.0

_NUMBERED = re.compile(
    r"""^\s*(?:
        q(?:uestion)?\s*(?:no\.?\s*|number\s*)?(?P<q>\d{1,3})(?!\d)   # Q6, Q6_1, Question 6, Question no. 6
        | (?P<bare>\d{1,3})\s*(?:[.:)]|[-–—]\s|$)                       # 6. / 6) / 6: / 6 - / 6
    )[\s.:)\-–—_]*""",
    re.IGNORECASE | re.VERBOSE,
)


def split_number(text: str) -> tuple[int | None, str]:
    """("Q6 - To what extent...") -> (6, "To what extent..."); (None, text) when unnumbered."""
    match = _NUMBERED.match(text)
    if not match:
        return None, text.strip()
    number = int(match.group("q") or match.group("bare"))
    return number, text[match.end() :].strip()


def match_question(text: str, framework: FrameworkSpec, threshold: float = DEFAULT_THRESHOLD) -> int | None:
    """The framework question ``text`` names, by its wording or else by its number; None if unsure.

    Wording wins over numbering: a survey may number its questions differently from the
    framework, but it will not reword them beyond recognition.
    """
    number, rest = split_number(text)
    by_wording = best_wording_match(rest, framework, threshold)
    if by_wording is not None:
        return by_wording
    if number is not None and framework.question(number) is not None:
        return number
    return None


def best_wording_match(text: str, framework: FrameworkSpec, threshold: float) -> int | None:
    if len(text.split()) < _MIN_WORDS:
        return None
    scores: dict[int, float] = {}
    for question in framework.questions:
        for wording in question.wordings:
            if not wording or len(text) < _MIN_SHARE_OF_WORDING * len(wording):
                continue
            score = max(fuzz.token_set_ratio(text, wording), fuzz.partial_ratio(text, wording))
            scores[question.number] = max(scores.get(question.number, 0.0), score)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    if not ranked or ranked[0][1] < threshold:
        return None
    if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < _TIE_MARGIN:
        return None
    return ranked[0][0]
