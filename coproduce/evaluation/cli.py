"""``coproduce eval ...``: measure the coders and the stance classifier on the shared evaluation datasets.

Mount with ``app.add_typer(eval_app, name="eval")``. Each command prints a table and, with ``--json FILE``, saves
the figures (with per-code scores). Embeddings are cached in a SQLite file, so a re-run embeds nothing new.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from coproduce.errors import BadInputError
from coproduce.evaluation import harness
from coproduce.evaluation.baselines import BASELINES, cross_validate_baseline, train_test_baseline
from coproduce.evaluation.datasets import Dataset, align, read_fft_csv, read_segments, read_themefinder
from coproduce.evaluation.metrics import coding_scores, stance_accuracy, to_matrix

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_FFT = SHARED / "nhs-fft" / "train.csv"
DEFAULT_THEMEFINDER = SHARED / "themefinder-gambling-xs"
DEFAULT_SEGMENTS = SHARED / "send-seed-gold" / "segments.jsonl"
DEFAULT_FRAMEWORK = ROOT / "corpus" / "frameworks" / "send-green-paper-2022.yaml"
DEFAULT_CACHE = Path("instance") / "embeddings-eval.sqlite"

eval_app = typer.Typer(help="Measure coding and stance quality on evaluation datasets.", no_args_is_help=True)
out = Console(soft_wrap=True, width=200)  # tables of figures are wide; wrapping them makes them unreadable
err = Console(stderr=True, soft_wrap=True)

JsonOpt = Annotated[Path | None, typer.Option("--json", help="Save the figures to this JSON file.")]
CacheOpt = Annotated[Path, typer.Option("--cache", help="Embedding cache file (SQLite); reused across runs.")]
FoldsOpt = Annotated[int, typer.Option("--folds", min=2, help="Cross-validation folds.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed for folds, subsets and models.")]


class Run:
    """One command's embedder, progress display and collected results."""

    def __init__(self, cache: Path, command: str):
        from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder

        self.started = time.perf_counter()
        self.command = command
        self.results: list[harness.Evaluation] = []
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=err, transient=True,
        )  # fmt: skip
        store = EmbeddingCache(cache)
        self.embed = SentenceEmbedder(cache=store, progress=self._embedded)
        self.embed.cache = store  # an empty cache is falsy, and the constructor's `cache or ...` would drop it
        self._embedding_task = None

    def _embedded(self, done: int, total: int) -> None:
        if self._embedding_task is None:
            self._embedding_task = self.progress.add_task("embedding", total=total)
        self.progress.update(self._embedding_task, completed=done, total=total)
        if done >= total:
            self.progress.remove_task(self._embedding_task)
            self._embedding_task = None

    def step(self, description: str, total: int):  # type: ignore[no-untyped-def]
        task = self.progress.add_task(description, total=total)
        return lambda _message: self.progress.advance(task)

    def add(self, *results: harness.Evaluation) -> None:
        self.results.extend(results)

    def finish(self, json_path: Path | None) -> None:
        elapsed = time.perf_counter() - self.started
        print_table(self.results)
        out.print(f"elapsed {elapsed:.0f} s on {os.cpu_count()} CPU cores")
        if json_path is not None:
            payload = {
                "command": self.command,
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
                "elapsed_seconds": round(elapsed, 1),
                "results": [r.as_dict() for r in self.results],
            }
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
            out.print(f"figures saved to {json_path}")


def print_table(results: list[harness.Evaluation]) -> None:
    table = Table(show_lines=False)
    for column in (
        "dataset",
        "mode",
        "coder",
        "n",
        "micro F1",
        "macro F1",
        "sample F1",
        "response F1",
        "stance acc",
        "s",
    ):
        table.add_column(column, justify="left" if column in ("dataset", "mode", "coder") else "right")
    for r in results:
        s = r.scores
        table.add_row(
            r.dataset,
            r.mode,
            r.coder,
            str(s.records),
            str(s.micro_f1),
            str(s.macro_f1),
            str(s.sample_f1),
            f"{r.response_scores.micro_f1.value:.3f} micro / {r.response_scores.sample_f1.value:.3f} sample"
            if r.response_scores
            else "",
            str(r.stance) if r.stance else "",
            f"{r.seconds:.0f}",
        )
    out.print(table)


def _fail(error: BadInputError) -> None:
    err.print(f"error: {error}")
    raise typer.Exit(2)


# --- NHS FFT -----------------------------------------------------------------------------------------------------


def run_fft(
    run: Run, train: Path, test: Path | None, folds: int, seed: int, curve: bool, baselines: bool, limit: int | None
) -> None:
    train_set = read_fft_csv(train)
    if limit:
        train_set.records = train_set.records[:limit]
    if test is not None:
        test_set = align(train_set, read_fft_csv(test))
        run.add(harness.zero_shot(test_set, run.embed, stance=False))
        run.add(harness.train_test(train_set, test_set, run.embed, seed=seed))
        if baselines:
            run.add(*(train_test_baseline(train_set, test_set, run.embed, name, seed) for name in BASELINES))
        return
    run.add(harness.zero_shot(train_set, run.embed, stance=False))
    with run.progress:
        run.embed.embed([r.text for r in train_set.records])
        run.add(harness.cross_validate(train_set, run.embed, folds, seed=seed, progress=run.step("FFT CV", folds)))
        if baselines:
            run.add(*(cross_validate_baseline(train_set, run.embed, name, folds, seed) for name in BASELINES))
        if curve:
            sizes = (50, 200, 1000)
            step = run.step("FFT learning curve", len(sizes))
            run.add(*harness.learning_curve(train_set, run.embed, sizes, folds, seed=seed, progress=step))


@eval_app.command()
def fft(
    train: Annotated[Path, typer.Option(help="Training CSV in the NHS FFT layout.")] = DEFAULT_FFT,
    test: Annotated[Path | None, typer.Option(help="Score this CSV after training on --train (else CV).")] = None,
    folds: FoldsOpt = 5,
    seed: SeedOpt = 0,
    learning_curve: Annotated[bool, typer.Option(help="Also train on 50, 200 and 1000 records.")] = True,
    baselines: Annotated[bool, typer.Option(help="Also run TF-IDF+SVC and MiniLM+LR baselines.")] = True,
    limit: Annotated[int | None, typer.Option(help="Use only the first N training records.")] = None,
    json_path: JsonOpt = None,
    cache: CacheOpt = DEFAULT_CACHE,
) -> None:
    """NHS Friends and Family Test: zero-shot, cross-validation (or train/test), baselines, learning curve."""
    run = Run(cache, "coproduce eval fft")
    try:
        run_fft(run, train, test, folds, seed, learning_curve, baselines, limit)
    except BadInputError as error:
        _fail(error)
    run.finish(json_path)


# --- themefinder -------------------------------------------------------------------------------------------------


def _pooled(
    name: str, mode: str, coder: str, parts: list[tuple[Dataset, np.ndarray, np.ndarray, list[int]]], seconds: float
) -> harness.Evaluation:
    """Several questions' predictions scored together: each question's codes are its own columns."""
    ids = [f"{d.name}/{c}" for d, _, _, _ in parts for c in d.code_ids]
    gold = np.zeros((sum(len(g) for _, g, _, _ in parts), len(ids)), dtype=bool)
    pred = np.zeros_like(gold)
    row = col = 0
    for _dataset, g, p, _ in parts:
        gold[row : row + len(g), col : col + g.shape[1]] = g
        pred[row : row + len(g), col : col + g.shape[1]] = p
        row, col = row + len(g), col + g.shape[1]
    return harness.Evaluation(name, mode, coder, coding_scores(gold, pred, ids), seconds=seconds)


def run_themefinder(run: Run, folder: Path, per_question: int, draws: int, seed: int) -> None:
    questions = read_themefinder(folder)
    zero, labelled, stance_zero, stance_cv = [], [], [], []
    started = time.perf_counter()
    for dataset in questions:
        result = harness.zero_shot(dataset, run.embed)
        run.add(result)
        gold = to_matrix([r.codes for r in dataset.records], dataset.code_ids)
        vectors = run.embed.embed([r.text for r in dataset.records])
        coder = harness.ZeroShotCoder(embed=run.embed)
        coder.fit(dataset.framework, [], run.embed)
        zero.append((dataset, gold, harness.predict(coder, dataset.records, vectors, dataset.framework), []))
        stances = harness._zero_shot_stances(dataset, vectors)
        if stances:
            stance_zero.extend(zip([r.stance for r in dataset.records], stances, strict=True))
    run.add(_pooled(folder.name, "zero-shot", "zero-shot", zero, time.perf_counter() - started))
    run.results[-1].stance = stance_accuracy(*zip(*stance_zero, strict=True)) if stance_zero else None
    if per_question:
        started = time.perf_counter()
        with run.progress:
            step = run.step(f"{per_question} labelled per question", len(questions))
            for dataset in questions:
                gold, pred, _ = harness.labelled_per_group(dataset, run.embed, per_question, draws, seed=seed)
                labelled.append((dataset, gold, pred, []))
                cv = harness.cross_validate(dataset, run.embed, folds=5, coder_kind="hybrid", seed=seed)
                if cv.stance:
                    stance_cv.append(cv)
                step("")
        mode = f"{per_question} labelled per question ({draws} draws)"
        run.add(_pooled(folder.name, mode, "hybrid", labelled, time.perf_counter() - started))
        for cv in stance_cv:
            run.add(cv)


@eval_app.command()
def themefinder(
    folder: Annotated[Path, typer.Argument(help="A themefinder evaluation folder.")] = DEFAULT_THEMEFINDER,
    labelled_per_question: Annotated[int, typer.Option(help="Labelled responses per question (0: skip).")] = 20,
    draws: Annotated[int, typer.Option(help="Disjoint draws of labelled responses.")] = 5,
    seed: SeedOpt = 0,
    json_path: JsonOpt = None,
    cache: CacheOpt = DEFAULT_CACHE,
) -> None:
    """themefinder layout: zero-shot theme mapping, then with a few labelled responses per question."""
    run = Run(cache, "coproduce eval themefinder")
    try:
        run_themefinder(run, folder, labelled_per_question, draws, seed)
    except BadInputError as error:
        _fail(error)
    run.finish(json_path)


# --- segment JSONL -----------------------------------------------------------------------------------------------


def run_segments(run: Run, train: Path | None, test: Path, framework: Path, folds: int, seed: int) -> None:
    test_set = read_segments(test, framework)
    run.add(harness.zero_shot(test_set, run.embed))
    if train is not None:
        run.add(harness.train_test(read_segments(train, framework), test_set, run.embed, seed=seed))
    elif folds and len(test_set.records) >= folds:
        with run.progress:
            run.add(harness.cross_validate(test_set, run.embed, folds, seed=seed, progress=run.step("CV", folds)))


@eval_app.command()
def segments(
    train: Annotated[Path | None, typer.Option(help="Coded segments to train on (else zero-shot and CV).")] = None,
    test: Annotated[Path, typer.Option(help="Coded segments to score.")] = DEFAULT_SEGMENTS,
    framework: Annotated[Path, typer.Option(help="Framework YAML whose code ids the files use.")] = DEFAULT_FRAMEWORK,
    folds: FoldsOpt = 5,
    seed: SeedOpt = 0,
    json_path: JsonOpt = None,
    cache: CacheOpt = DEFAULT_CACHE,
) -> None:
    """Segment JSONL (text, codes, stance): zero-shot, and cross-validated or trained on --train."""
    run = Run(cache, "coproduce eval segments")
    try:
        run_segments(run, train, test, framework, folds, seed)
    except BadInputError as error:
        _fail(error)
    run.finish(json_path)


@eval_app.command(name="all")
def all_(
    folds: FoldsOpt = 5,
    seed: SeedOpt = 0,
    json_path: JsonOpt = None,
    cache: CacheOpt = DEFAULT_CACHE,
) -> None:
    """The three shared datasets with their default paths; a missing one is skipped with a message."""
    run = Run(cache, "coproduce eval all")
    try:
        if DEFAULT_FFT.exists():
            run_fft(run, DEFAULT_FFT, None, folds, seed, curve=True, baselines=True, limit=None)
        else:
            err.print(f"skipped NHS FFT: {DEFAULT_FFT} not found")
        if DEFAULT_THEMEFINDER.exists():
            run_themefinder(run, DEFAULT_THEMEFINDER, 20, 5, seed)
        else:
            err.print(f"skipped themefinder: {DEFAULT_THEMEFINDER} not found")
        if DEFAULT_SEGMENTS.exists():
            run_segments(run, None, DEFAULT_SEGMENTS, DEFAULT_FRAMEWORK, folds, seed)
        else:
            err.print(f"skipped seed gold: {DEFAULT_SEGMENTS} not found")
    except BadInputError as error:
        _fail(error)
    run.finish(json_path)
