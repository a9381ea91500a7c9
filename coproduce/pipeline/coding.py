"""Framework coding: the coders the analysis pipeline can use, and the one it uses by default.

- :class:`ZeroShotCoder` needs no labels: similarity to each code's label, description and examples.
- :class:`SupervisedCoder` learns from a panel's accepted and rejected suggestions, per code.
- :class:`HybridCoder` (the default) is zero-shot until a panel has reviewed some segments, then supervised for each
  code with enough accepted segments, blending in the zero-shot score while a code's labels are few, so coding
  improves as a panel reviews.

The analysis service calls ``fit(framework, decisions, embedder)`` with every human decision so far (possibly none)
and then ``code(segments, vectors, framework)``. Coders only suggest: keeping human decisions over model
suggestions is the service's job, and nothing here needs it to do otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import Embedder
from coproduce.pipeline.coding_rules import DecisionRule, DecisionTable, select_codes
from coproduce.pipeline.coding_supervised import SupervisedCoder
from coproduce.pipeline.coding_zero_shot import ZeroShotCoder

__all__ = ["DecisionRule", "DecisionTable", "HybridCoder", "SupervisedCoder", "ZeroShotCoder", "select_codes"]


class HybridCoder(SupervisedCoder):
    """Supervised where a code has enough accepted segments, zero-shot elsewhere, blended in between.

    A code with ``p`` accepted segments takes ``p / (p + blend_positives)`` of its confidence from its model and the
    rest from the zero-shot coder; codes without a model are zero-shot only (calibrated to how often the panel has
    accepted them). ``seed`` fixes every random choice, so the same decisions give the same suggestions.
    """

    name = "hybrid"

    def __init__(self, embed: Embedder | None = None, seed: int = 0, blend_positives: float = 0.0, **settings):
        super().__init__(embed=embed, random_state=seed, **settings)
        self.seed = seed
        self.blend_positives = blend_positives

    def confidence(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        supervised = self.supervised_confidence(texts, vectors, framework, questions)
        if not np.isnan(supervised).any() and not self.blend_positives:
            return supervised
        zero_shot = self.zero_shot.confidence(vectors, framework)
        if not self.blend_positives:
            return np.where(np.isnan(supervised), zero_shot, supervised)
        positives = np.array([self.models[c.id].positives if c.id in self.models else 0 for c in framework.codes])
        trust = positives / (positives + self.blend_positives)
        return np.where(np.isnan(supervised), zero_shot, trust * np.nan_to_num(supervised) + (1 - trust) * zero_shot)
