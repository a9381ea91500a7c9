"""Quote picking: consent, redaction, length, one per respondent, diversity and spread of respondent types."""

from __future__ import annotations

import numpy as np
import pytest

from coproduce.pipeline.base import QuoteCandidate
from coproduce.pipeline.quotes import MMRQuotePicker, QuoteSettings, fit_length

CENTRE = np.array([1.0, 0.0, 0.0, 0.0])


def direction(relevance: float, side: float = 0.0, third: float = 0.0) -> np.ndarray:
    """A vector at cosine ``relevance`` from CENTRE, turned off-axis by ``side``/``third``."""
    rest = np.array([0.0, side, third, 0.0])
    rest = rest / np.linalg.norm(rest) if np.linalg.norm(rest) else np.array([0.0, 0.0, 0.0, 1.0])
    return relevance * CENTRE + np.sqrt(1 - relevance**2) * rest


def candidate(n: int, text: str, *, respondent: int | None = None, kind: str = "parent", consent: bool = True):
    return QuoteCandidate(
        segment=(n, 0),
        text=text,
        respondent_id=respondent if respondent is not None else n,
        respondent_type=kind,
        consent_to_quote=consent,
    )


def words(n: int, word: str = "word") -> str:
    return " ".join([word] * n)


def test_only_consenting_candidates_are_quoted_and_redaction_is_kept() -> None:
    candidates = [
        candidate(1, "My son [NAME] waited two years at [SCHOOL] for help.", consent=False),
        candidate(2, "We waited two years for [NAME] to be assessed at all."),
    ]
    vectors = np.vstack([direction(0.99), direction(0.9, side=1)])

    result = MMRQuotePicker().pick(candidates, vectors, CENTRE, k=2)

    assert [q.text for q in result.items] == ["We waited two years for [NAME] to be assessed at all."]
    assert [(u.item, u.reason) for u in result.unprocessed] == [("segment 1:0", "no consent to quote")]


def test_length_rules() -> None:
    assert fit_length("Too short to use.", 5, 60) == (None, "too short to quote (4 words)")
    assert fit_length("  Just long enough to quote here. ", 5, 60) == ("Just long enough to quote here.", "")
    long_text = f"{words(30, 'first')}. {words(25, 'second')}! {words(20, 'third')}."
    assert fit_length(long_text, 5, 60) == (f"{words(30, 'first')}. {words(25, 'second')}! […]", "")
    assert fit_length(words(70), 5, 60) == (None, "too long to quote (70 words, no sentence break within 60)")

    candidates = [candidate(1, "Far too short."), candidate(2, words(61, "no-break")), candidate(3, long_text)]
    result = MMRQuotePicker().pick(candidates, np.vstack([CENTRE] * 3), CENTRE, k=3)
    assert [q.segment for q in result.items] == [(3, 0)]
    assert [u.item for u in result.unprocessed] == ["segment 1:0", "segment 2:0"]


def test_near_duplicates_and_the_same_respondent_are_picked_once() -> None:
    candidates = [
        candidate(1, "The waiting list for an assessment is far too long."),
        candidate(2, "The waiting list for an assessment is far too long!", respondent=10),
        candidate(3, "The waiting list for an autism assessment is far too long.", respondent=11),
        candidate(4, "Nobody told us how long the wait would be, or why.", respondent=1),  # respondent 1 again
        candidate(5, "Our family gave up on the waiting list and paid privately.", respondent=12),
    ]
    vectors = np.vstack(
        [direction(0.95), direction(0.6, 1, 1), direction(0.949), direction(0.9, 1), direction(0.7, 0, 1)]
    )
    result = MMRQuotePicker().pick(candidates, vectors, CENTRE, k=5)
    assert [q.segment for q in result.items] == [(1, 0), (5, 0)]  # 2: same text; 3: same vector; 4: same person


def test_mmr_trades_relevance_for_diversity() -> None:
    candidates = [candidate(n, f"Quote number {n} about the finding.") for n in range(1, 4)]
    vectors = np.vstack([direction(0.95, 1), direction(0.94, 1, 0.05), direction(0.9, 0, 1)])
    no_hard_rule = QuoteSettings(duplicate_similarity=1.01)
    picked = MMRQuotePicker(no_hard_rule).pick(candidates, vectors, CENTRE, k=2).items
    assert [q.segment[0] for q in picked] == [1, 3]  # 2 is more relevant than 3, but repeats 1
    assert picked[0].score == pytest.approx(0.7 * 0.95)
    assert picked[1].score == pytest.approx(0.7 * 0.9 - 0.3 * float(vectors[2] @ vectors[0]))
    pure_relevance = MMRQuotePicker(QuoteSettings(diversity_lambda=1.0, duplicate_similarity=1.01))
    assert [q.segment[0] for q in pure_relevance.pick(candidates, vectors, CENTRE, k=2).items] == [1, 2]


def test_a_new_respondent_type_wins_when_scores_are_close() -> None:
    candidates = [
        candidate(1, "A parent's view of the waiting list.", kind="parent"),
        candidate(2, "Another parent's view of the waiting list.", kind="parent"),
        candidate(3, "A young person's view of the waiting list.", kind="young person"),
        candidate(4, "A professional's view, far less on point.", kind="professional"),
    ]
    vectors = np.vstack([direction(0.95, 1), direction(0.95, -1), direction(0.92, 0, 1), direction(0.5)])
    # after 1, candidate 2 scores 0.04 higher than 3
    picked = MMRQuotePicker().pick(candidates, vectors, CENTRE, k=3).items
    assert [(q.segment[0], q.respondent_type) for q in picked] == [
        (1, "parent"),
        (3, "young person"),  # within 0.05 of candidate 2, and a type not yet heard
        (2, "parent"),
    ]


def test_real_paraphrases_are_not_both_picked(embedder) -> None:
    texts = [
        "The waiting list for an autism assessment is far too long.",
        "The waiting list for an autism assessment is much too long.",
        "We waited three years for speech and language therapy.",
        "Nobody at the council ever explained how long the delays would be.",
    ]
    vectors = embedder.embed(texts)
    centre = vectors.mean(axis=0)
    candidates = [candidate(n, t) for n, t in enumerate(texts)]
    result = MMRQuotePicker().pick(candidates, vectors, centre, k=3)
    picked = {q.segment[0] for q in result.items}
    assert len(picked) == 3 and not {0, 1} <= picked
    assert result.items == MMRQuotePicker().pick(candidates, vectors, centre, k=3).items


def test_edge_cases() -> None:
    one = [candidate(1, "We waited two years for help.")]
    assert MMRQuotePicker().pick(one, np.vstack([CENTRE]), CENTRE, k=0).items == []
    assert MMRQuotePicker().pick([], np.zeros((0, 4)), CENTRE, k=3).items == []
    with pytest.raises(ValueError, match="1 candidates but 2 vectors"):
        MMRQuotePicker().pick(one, np.vstack([CENTRE, CENTRE]), CENTRE, k=1)
