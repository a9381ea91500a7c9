"""The eval commands end to end on tiny files (real MiniLM; each run embeds a few dozen short texts)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from coproduce.evaluation import harness
from coproduce.evaluation.cli import eval_app
from coproduce.evaluation.datasets import read_segments
from tests.conftest import GREEN_PAPER
from tests.evaluation.test_datasets import fft_row, write_fft, write_themefinder

runner = CliRunner()

SEGMENTS = [
    ("Every SENCo should hold the national qualification.", ["SCO"], "recommend"),
    ("Waiting times for assessment are far too long.", ["WAI"], "concern"),
    ("High needs funding must be ring-fenced.", ["FUN"], "recommend"),
    ("We welcome the national standards.", ["STD"], "support"),
    ("Mediation should never delay the tribunal.", ["MED", "TRB"], "recommend"),
    ("Parent carers must help design local plans.", ["COP"], "recommend"),
]


def write_segments(path, rows=SEGMENTS):  # type: ignore[no-untyped-def]
    path.write_text("".join(json.dumps({"text": t, "codes": c, "stance": s}) + "\n" for t, c, s in rows))
    return path


def test_segments_command_zero_shot_and_cv(tmp_path):
    test = write_segments(tmp_path / "gold.jsonl")
    saved = tmp_path / "figures.json"
    args = ["segments", "--test", str(test), "--framework", str(GREEN_PAPER), "--folds", "2"]
    result = runner.invoke(eval_app, [*args, "--json", str(saved), "--cache", str(tmp_path / "cache.sqlite")])
    assert result.exit_code == 0, result.output
    assert "zero-shot" in result.output and "2-fold CV" in result.output
    figures = json.loads(saved.read_text())
    modes = [r["mode"] for r in figures["results"]]
    assert modes == ["zero-shot", "2-fold CV"]
    zero = figures["results"][0]
    assert zero["scores"]["records"] == len(SEGMENTS)
    assert 0 <= zero["scores"]["micro_f1"]["value"] <= 1
    assert zero["stance_accuracy"]["value"] >= 0.5  # the cues get most of these right
    assert figures["machine"]["cpus"] >= 1


def test_segments_train_test_and_bad_input(tmp_path):
    train = write_segments(tmp_path / "train.jsonl")
    test = write_segments(tmp_path / "test.jsonl", SEGMENTS[:3])
    cache = str(tmp_path / "cache.sqlite")
    args = ["segments", "--train", str(train), "--test", str(test), "--framework", str(GREEN_PAPER), "--cache", cache]
    result = runner.invoke(eval_app, args)
    assert result.exit_code == 0, result.output
    assert "train/test" in result.output
    (tmp_path / "bad.jsonl").write_text('{"text": "x", "codes": ["NOPE"]}\n')
    bad = runner.invoke(eval_app, ["segments", "--test", str(tmp_path / "bad.jsonl"), "--cache", cache])
    assert bad.exit_code == 2
    assert "row 1" in bad.output and "codes" in bad.output


def test_fft_command_train_test_and_cv(tmp_path):
    rows = [fft_row(f"Lovely kind staff number {i}", staff="1") for i in range(6)]
    rows += [fft_row(f"Nowhere to park, car park full {i}", parking="1") for i in range(6)]
    train = write_fft(tmp_path / "train.csv", rows)
    test = write_fft(
        tmp_path / "test.csv", [fft_row("Staff were kind", staff="1"), fft_row("Parking was awful", parking="1")]
    )
    cache = str(tmp_path / "cache.sqlite")
    result = runner.invoke(eval_app, ["fft", "--train", str(train), "--test", str(test), "--cache", cache])
    assert result.exit_code == 0, result.output
    assert "baseline: TF-IDF + linear SVC" in result.output
    saved = tmp_path / "cv.json"
    cv = ["fft", "--train", str(train), "--folds", "2", "--no-learning-curve", "--cache", cache, "--json", str(saved)]
    result = runner.invoke(eval_app, cv)
    assert result.exit_code == 0, result.output
    coders = [r["coder"] for r in json.loads(saved.read_text())["results"]]
    assert coders == ["zero-shot", "hybrid", "baseline: TF-IDF + linear SVC", "baseline: MiniLM + logistic regression"]


def test_themefinder_command(tmp_path):
    folder = write_themefinder(tmp_path / "tf")
    result = runner.invoke(
        eval_app, ["themefinder", str(folder), "--labelled-per-question", "0", "--cache", str(tmp_path / "c.sqlite")]
    )
    assert result.exit_code == 0, result.output
    assert "question_part_1" in result.output


def test_learning_curve_and_labelled_per_group(embedder, tmp_path):
    rows = [(f"{t} ({k})", c, s) for k in range(4) for t, c, s in SEGMENTS]
    data = read_segments(write_segments(tmp_path / "gold.jsonl", rows), GREEN_PAPER)
    curve = harness.learning_curve(data, embedder, sizes=(0, 10, None), folds=2)
    assert [r.mode for r in curve] == ["learning curve: 0", "learning curve: 10", "learning curve: all"]
    assert [r.labelled for r in curve] == [0, 10, 12]
    gold, pred, index = harness.labelled_per_group(data, embedder, per_group=6, draws=2)
    assert gold.shape == pred.shape == (36, len(data.code_ids))
    assert len(index) == 36
