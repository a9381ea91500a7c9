"""Time each page of the load mix in one process, without locust or a server: where does a page spend?

    .venv/bin/python -m benchmarks.load.page_timings --instance /tmp/load-sqlite [--database-url URL]
        [--repeat 5] [--profile "project overview"]

Signs in as the first load account with Flask's test client and requests each page of
``locustfile.py``'s mix ``--repeat`` times (the first request of each is reported apart: it warms
caches and, for semantic search, loads the model). ``--profile NAME`` prints a pyinstrument profile of
that page's later requests. Read-only: no POST is sent. Figures are for one request at a time, so they
are the floor under what the load run sees with 20 users sharing the cores.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.load.build_project import ACCOUNTS_FILE
from coproduce.config import Settings

FINDING_LINK = re.compile(r'href="/projects/[^/]+/findings/(\d+)"')


def pages(accounts: dict) -> dict[str, str]:
    base = f"/projects/{accounts['project']}"
    question = accounts["questions"][0]
    word = accounts["search_words"][0]
    return {
        "review queue": f"{base}/review?question={question}&page=1",
        "review queue (deep page)": f"{base}/review?question={question}&page=300",
        "findings list": f"{base}/findings/",
        "project overview": base,
        "keyword search": f"{base}/search?q={word}&mode=keyword&question={question}",
        "semantic search": f"{base}/search?q=support+with+{word}&mode=semantic&question={question}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", default=None, help="the page name to profile (see the printed list)")
    args = parser.parse_args(argv)

    from webui import create_app

    settings = Settings.from_env(instance_dir=args.instance, database_url=args.database_url)
    accounts = json.loads((args.instance / ACCOUNTS_FILE).read_text(encoding="utf-8"))
    app = create_app({"WTF_CSRF_ENABLED": False}, settings=settings)
    client = app.test_client()
    signed_in = client.post("/sign-in", data={"email": accounts["emails"][0], "password": accounts["password"]})
    if signed_in.status_code != 302:
        raise SystemExit(f"sign-in failed ({signed_in.status_code}); was the project built with build_project?")
    urls = pages(accounts)
    findings = FINDING_LINK.findall(client.get(urls["findings list"]).get_data(as_text=True))
    if findings:
        urls["finding page"] = f"/projects/{accounts['project']}/findings/{findings[0]}"

    def timed(url: str) -> float:
        start = time.perf_counter()
        answer = client.get(url)
        took = (time.perf_counter() - start) * 1000
        if answer.status_code != 200:
            raise SystemExit(f"{url} answered {answer.status_code}")
        return took

    run: Callable[[str], float] = timed
    print(f"{'page':28} {'first ms':>9} {'median ms':>10} {'max ms':>8}")
    for name, url in urls.items():
        first = run(url)
        if args.profile == name:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        later = [run(url) for _ in range(max(args.repeat - 1, 1))]
        if args.profile == name:
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        print(f"{name:28} {first:9.0f} {statistics.median(later):10.0f} {max(later):8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
