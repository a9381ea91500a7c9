"""Privacy fixtures: the analyzer and the embedding model are loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from coproduce.privacy.evaluate import (
    RedactionRecord,
    SafeguardingRecord,
    load_redaction_gold,
    load_safeguarding_gold,
)
from coproduce.privacy.redaction import PresidioRedactor
from coproduce.privacy.safeguarding import SafeguardingFlagger

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def redactor() -> PresidioRedactor:
    return PresidioRedactor()


@pytest.fixture(scope="session")
def flagger() -> SafeguardingFlagger:
    return SafeguardingFlagger()


@pytest.fixture(scope="session")
def lexicon_flagger() -> SafeguardingFlagger:
    return SafeguardingFlagger(similarity=False)


@pytest.fixture(scope="session")
def redaction_gold() -> list[RedactionRecord]:
    return load_redaction_gold(DATA / "redaction_gold.jsonl")


@pytest.fixture(scope="session")
def safeguarding_gold() -> list[SafeguardingRecord]:
    return load_safeguarding_gold(DATA / "safeguarding_gold.jsonl")
