"""Compare the theme reducer with plain UMAP on human-coded data; records figures, not a test.

    .venv/bin/python -m benchmarks.theme_reducer_compare --records 2000

Both runs use the same BERTopic theme finder, framework, vectors and seed; only the reducer differs:
``plain`` is UMAP as BERTopic would use it (its own neighbour search; ``transform`` re-projects the
segments BERTopic's zero-shot step leaves), ``exact`` is :class:`ExactNeighboursUMAP` (the default).
Agreement with the human codes is measured over the segments that land in a theme: normalised mutual
information between theme and the comment's first human code, and purity (the share of a theme's
segments carrying its most common human code), so a faster reducer cannot quietly make worse themes.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.pipeline_benchmark import RESULTS, machine

FFT = Path(__file__).resolve().parents[2] / "shared" / "data" / "nhs-fft" / "train.csv"


def plain_umap(n: int, seed: int) -> Any:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ImportWarning)
        from umap import UMAP
    return UMAP(
        n_neighbors=max(2, min(15, n - 1)),
        n_components=5,
        metric="cosine",
        min_dist=0.0,
        n_epochs=200,
        random_state=seed,
        n_jobs=1,
    )


def agreement(themes: list[Any], first_code: dict[tuple[int, int], str]) -> dict[str, float]:
    from sklearn.metrics import normalized_mutual_info_score

    theme_of: dict[tuple[int, int], str] = {}
    for theme in themes:
        for key in theme.segments:
            theme_of.setdefault(key, theme.key)
    keys = sorted(theme_of)
    if not keys:
        return {"nmi": 0.0, "purity": 0.0, "in_a_theme": 0.0}
    members: dict[str, list[str]] = {}
    for key in keys:
        members.setdefault(theme_of[key], []).append(first_code[key])
    purity = sum(Counter(codes).most_common(1)[0][1] for codes in members.values()) / len(keys)
    nmi = normalized_mutual_info_score([first_code[k] for k in keys], [theme_of[k] for k in keys])
    return {
        "nmi": round(float(nmi), 4),
        "purity": round(purity, 4),
        "in_a_theme": round(len(keys) / len(first_code), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--file", type=Path, default=FFT)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/coproduce-theme-compare.sqlite"))
    parser.add_argument("--tag", default="")
    args = parser.parse_args()

    from coproduce.evaluation.datasets import read_fft_csv
    from coproduce.pipeline.base import SegmentText
    from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder
    from coproduce.pipeline.themes import BERTopicThemeFinder

    data = read_fft_csv(args.file)
    records = [r for r in data.records if r.codes][: args.records]
    segments = [SegmentText(i, 0, 0, len(r.text), r.text) for i, r in enumerate(records)]
    first_code = {s.key: sorted(r.codes)[0] for s, r in zip(segments, records, strict=True)}
    embedder = SentenceEmbedder(cache=EmbeddingCache(args.cache))
    vectors = embedder.embed([s.text for s in segments])
    context = {"respondent_of_segment": {s.key: s.response_id for s in segments}}
    rows = []
    for name, factory in (("exact", None), ("plain", plain_umap), ("exact", None)):
        finder = BERTopicThemeFinder(embedder, reducer_factory=factory)
        started = time.perf_counter()
        result = finder.find(segments, vectors, data.framework, context)
        seconds = time.perf_counter() - started
        row = {
            "reducer": name,
            "seconds": round(seconds, 2),
            "themes": len(result.items),
            "mapped_to_codes": sum(t.code is not None for t in result.items),
            **agreement(result.items, first_code),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {
        "date": date.today().isoformat(),
        "dataset": str(args.file.name),
        "records": len(records),
        "note": "the first exact run pays numba's compile; compare the second exact run with plain",
        "runs": rows,
        "load_average_after": list(__import__("os").getloadavg()),
        "machine": machine(),
    }
    target = RESULTS / f"theme-reducer-{date.today().isoformat()}{'-' + args.tag if args.tag else ''}.json"
    target.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
