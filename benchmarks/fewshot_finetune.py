"""Few-shot experiment, not part of the product: fine-tune a copy of MiniLM on 20 labelled responses per question.

    .venv/bin/python -m benchmarks.fewshot_finetune --epochs 2 --lr 5e-5 --pairs themes

SetFit-style: pairs of texts with a target cosine (1 or 0), mean squared error on the cosine, AdamW, batches of 16.
``--pairs themes`` pairs each labelled response with every theme text ("label: description"), 1 where the response
carries the theme; ``responses`` pairs labelled responses with each other, 1 where they share a theme; ``both``.
The product's zero-shot coder then codes the other 80 responses with the fine-tuned copy, so the figure compares
with the harness's "20 labelled per question" row (the same draws: ``harness.labelled_draws``). Writes
``benchmarks/results/fewshot-finetune-<date>-<pairs>-<epochs>-<lr>.json``; see docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import random
import time
from pathlib import Path

import numpy as np

from coproduce.evaluation.cli import DEFAULT_THEMEFINDER
from coproduce.evaluation.datasets import Dataset, read_themefinder
from coproduce.evaluation.harness import ZeroShotCoder, labelled_draws, predict
from coproduce.evaluation.metrics import micro_f1, sample_f1, to_matrix
from coproduce.nlp import load_embedder
from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder
from coproduce.pipeline.themes import code_text

ROOT = Path(__file__).resolve().parents[1]


def training_pairs(dataset: Dataset, labelled: list, kind: str) -> list[tuple[str, str, float]]:
    pairs = []
    if kind in ("themes", "both"):
        for record in labelled:
            for code in dataset.framework.codes:
                pairs.append((record.text, code_text(code.label, code.description), float(code.id in record.codes)))
    if kind in ("responses", "both"):
        for i, record in enumerate(labelled):
            for other in labelled[i + 1 :]:
                pairs.append((record.text, other.text, float(bool(record.codes & other.codes))))
    return pairs


def fine_tune(model, pairs: list[tuple[str, str, float]], epochs: int, lr: float, seed: int):  # type: ignore[no-untyped-def]
    import torch

    torch.manual_seed(seed)
    order = random.Random(seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order.shuffle(pairs)
        for start in range(0, len(pairs), 16):
            batch = pairs[start : start + 16]
            a = model(model.preprocess([p[0] for p in batch]))["sentence_embedding"]
            b = model(model.preprocess([p[1] for p in batch]))["sentence_embedding"]
            target = torch.tensor([p[2] for p in batch], dtype=torch.float32)
            loss = torch.nn.functional.mse_loss(torch.nn.functional.cosine_similarity(a, b), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    return model


def run(folder: Path, per_question: int, draws: int, epochs: int, lr: float, kind: str) -> dict[str, object]:
    base = load_embedder()
    started = time.perf_counter()
    gold_rows, pred_rows, per_draw = [], [], []
    for dataset in read_themefinder(folder):
        for draw, (chosen, others) in enumerate(labelled_draws(len(dataset.records), per_question, draws)):
            labelled = [dataset.records[i] for i in chosen]
            rest = [dataset.records[i] for i in others]
            model = fine_tune(copy.deepcopy(base), training_pairs(dataset, labelled, kind), epochs, lr, draw)
            embed = SentenceEmbedder(model=model, cache=EmbeddingCache(), model_id=f"fine-tuned-{dataset.name}-{draw}")
            coder = ZeroShotCoder(embed=embed)
            coder.fit(dataset.framework, [], embed)
            predicted = predict(coder, rest, embed.embed([r.text for r in rest]), dataset.framework)
            gold = to_matrix([r.codes for r in rest], dataset.code_ids)
            gold_rows.append(gold)
            pred_rows.append(predicted)
            per_draw.append({"question": dataset.name, "draw": draw, "sample_f1": round(sample_f1(gold, predicted), 3)})
    gold, predicted = np.vstack(gold_rows), np.vstack(pred_rows)
    return {
        "dataset": str(folder),
        "labelled_per_question": per_question,
        "draws": draws,
        "pairs": kind,
        "epochs": epochs,
        "learning_rate": lr,
        "pooled_sample_f1": round(sample_f1(gold, predicted), 3),
        "pooled_micro_f1": round(micro_f1(gold, predicted), 3),
        "per_draw": per_draw,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_THEMEFINDER)
    parser.add_argument("--per-question", type=int, default=20)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--pairs", choices=("themes", "responses", "both"), default="themes")
    args = parser.parse_args(argv)
    result = run(args.folder, args.per_question, args.draws, args.epochs, args.lr, args.pairs)
    print(json.dumps(result, indent=2))
    name = f"fewshot-finetune-{datetime.date.today()}-{args.pairs}-{args.epochs}-{args.lr:g}.json"
    (ROOT / "benchmarks" / "results" / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
