"""The stages a Pipeline uses when none is given. Imports are lazy: each stage's libraries load only when used."""

from __future__ import annotations

from typing import Any

from coproduce.pipeline.base import Embedder


def segmenter() -> Any:
    from coproduce.pipeline.segment import SpacySegmenter

    return SpacySegmenter()


def embedder() -> Any:
    from coproduce.pipeline.embed import SentenceEmbedder

    return SentenceEmbedder()


def coder(seed: int, embed: Embedder | None = None) -> Any:
    from coproduce.pipeline.coding import HybridCoder

    return HybridCoder(embed=embed, seed=seed)


def stance_classifier(seed: int, embed: Embedder | None = None) -> Any:
    from coproduce.pipeline.stance import StanceClassifierModel

    return StanceClassifierModel(embed=embed, seed=seed)


def theme_finder(seed: int, embed: Embedder | None = None) -> Any:
    from coproduce.pipeline.themes import BERTopicThemeFinder, ThemeSettings

    return BERTopicThemeFinder(embed, ThemeSettings(seed=seed))


def campaign_detector(seed: int) -> Any:
    from coproduce.pipeline.campaigns import MinHashCampaignDetector

    return MinHashCampaignDetector()


def quote_picker() -> Any:
    from coproduce.pipeline.quotes import MMRQuotePicker

    return MMRQuotePicker()
