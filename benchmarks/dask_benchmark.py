"""Record the per-segment stages on Dask against one process; not a test. Writes JSON and prints it.

    .venv/bin/python -m benchmarks.dask_benchmark --responses 2000 --partition-size 1000

The same generated responses (``benchmarks/synthetic.py``) go through the pipeline three times, each in a fresh
process so peak memory is that run's own: in one process (``dask_scheduler`` empty), on a LocalCluster of 1 worker
and of 2 workers (``local:1``, ``local:2``). Every run starts from an empty embedding cache, so every segment is
encoded. Theme discovery is left out (it runs on the driver whatever the executor, and docs/benchmarks.md has its
figures); segmentation, embedding, the coder's fit, coding, stance and campaigns run as in ``coproduce analyse``.
Each run records a digest of its segments, codes, stances and vectors, so the runs can be checked to agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time

from benchmarks.pipeline_benchmark import RESULTS, ROOT, cpu_seconds, machine
from benchmarks.synthetic import response_text

STAGES = ("segment", "embed", "code", "stance")


class NoThemes:
    """Theme discovery is not what is measured here (it stays on the driver); it finds nothing."""

    def find(self, segments, vectors, framework, context):
        from coproduce.pipeline.base import StageResult

        return StageResult([])


def one_run(scheduler: str, responses: int, partition_size: int, seed: int = 7) -> dict[str, object]:
    """One configuration in this process: ``scheduler`` as the ``dask_scheduler`` setting would give it."""
    from coproduce.frameworks.loader import load_framework
    from coproduce.pipeline.base import ResponseText
    from coproduce.pipeline.distributed import executor_from_settings
    from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder
    from coproduce.pipeline.run import Pipeline, PipelineInput

    rng = random.Random(seed)
    framework = load_framework(ROOT / "corpus" / "frameworks" / "send-green-paper-2022.yaml")
    data = PipelineInput(
        framework,
        [ResponseText(i, i, 1 + i % 3, response_text(rng), "parent_carer", True) for i in range(responses)],
    )
    executor = executor_from_settings(scheduler, partition_size)
    pipeline = Pipeline(
        embedder=SentenceEmbedder(cache=EmbeddingCache()), theme_finder=NoThemes(), executor=executor, seed=42
    )
    started, cpu = time.perf_counter(), cpu_seconds()
    with executor:  # cluster start (and the workers' model loading) timed apart from the stages
        ready = time.perf_counter() - started
        output = pipeline.run(data)
    wall, driver_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    stage_seconds = sum(output.timings[s] for s in STAGES)
    digest = hashlib.sha256()
    for item in (output.segments, output.codes, output.stances):
        digest.update(repr(item).encode())
    execution = output.manifest["execution"]
    return {
        "scheduler": scheduler or "(one process)",
        "responses": responses,
        "segments": len(output.segments),
        "wall_seconds": round(wall, 1),
        "cluster_start_seconds": round(ready, 1),
        "stage_seconds": output.timings,
        "per_segment_stages_seconds": round(stage_seconds, 1),
        "segments_per_second": round(len(output.segments) / stage_seconds, 1),
        "segments_per_second_with_start": round(len(output.segments) / wall, 1),
        "driver_cpu_seconds": round(driver_cpu, 1),
        "driver_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "worker_peak_rss_mib": execution.get("worker_peak_rss_mib", {}),
        "partition_size": partition_size,
        "partitions": execution.get("partitions", {}),
        "results_digest": digest.hexdigest(),
        "vectors_digest": hashlib.sha256(output.vectors.tobytes()).hexdigest(),
        "load_average_after": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument("--partition-size", type=int, default=1000)
    parser.add_argument("--schedulers", nargs="+", default=["", "local:1", "local:2"])
    parser.add_argument("--one", metavar="SCHEDULER", help=argparse.SUPPRESS)  # a single run, in a child process
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one_run(args.one, args.responses, args.partition_size)))
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"dask-{time.strftime('%Y-%m-%d')}{'-' + args.tag if args.tag else ''}.json"
    record: dict[str, object] = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine(), "runs": []}
    for scheduler in args.schedulers:
        command = [sys.executable, "-m", "benchmarks.dask_benchmark", "--one", scheduler]
        command += ["--responses", str(args.responses), "--partition-size", str(args.partition_size)]
        load_before = os.getloadavg()
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if out.returncode:
            sys.stderr.write(out.stderr[-5000:])
            raise SystemExit(f"the run with scheduler {scheduler!r} failed (exit {out.returncode})")
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run["load_average_before"] = load_before
        record["runs"].append(run)  # type: ignore[union-attr]
        print(json.dumps(run, indent=2), flush=True)
        target.write_text(json.dumps(record, indent=2), encoding="utf-8")  # each run as soon as it ends
    runs = record["runs"]
    record["all_runs_agree"] = {
        "segments_codes_stances": len({r["results_digest"] for r in runs}) == 1,  # type: ignore[index,union-attr]
        "vectors_bit_identical": len({r["vectors_digest"] for r in runs}) == 1,  # type: ignore[index,union-attr]
    }
    target.write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(json.dumps(record["all_runs_agree"]), f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
