"""Locust users for the review UI: panel reviewers working through the segment review queue.

Run by ``benchmarks/load/run_load.py`` (headless, bounded in users and time, loopback only); never
imported by pytest, because locust monkey-patches the standard library with gevent.

Each simulated reviewer signs in with an account from ``load-accounts.json`` (made by
``build_project.py``), then, with a think time between actions:

- opens review queue pages of one question (each user keeps to its own pages, so two users never
  decide on the same segment and every decision they are told succeeded must be in the database);
- accepts or rejects a suggested code, recodes one, or sets a segment's stance (POST forms with the
  CSRF token from the page), then follows the redirect back to the queue as a browser does;
- reads the findings list and a finding, the project overview, searches by keyword and, less often,
  by meaning.

Every POST answered with the redirect of success is appended to ``LOAD_DECISIONS`` (JSON lines), so
the runner can check afterwards that each one is in the database.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import random
import re
import threading
from pathlib import Path

from locust import HttpUser, between, task

ACCOUNTS = json.loads(Path(os.environ["LOAD_ACCOUNTS"]).read_text(encoding="utf-8"))
DECISIONS = Path(os.environ["LOAD_DECISIONS"])
WAIT = (float(os.environ.get("LOAD_WAIT_MIN", "1")), float(os.environ.get("LOAD_WAIT_MAX", "3")))
SLUG = ACCOUNTS["project"]
BASE = f"/projects/{SLUG}"

_numbers = itertools.count()
_write_lock = threading.Lock()

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RETURN_TO = re.compile(r'name="return_to" value="([^"]*)"')
CODE_ROW = re.compile(r'data-status="(\w+)" id="code-(\d+)"')
ACCEPT = re.compile(r'id="accept-(\d+)">Accept<span class="govuk-visually-hidden"> “[^”]*” on segment (\d+)<')
STANCE_FORM = re.compile(r'id="set-stance-(\d+)"')
RECODE_SELECT = re.compile(r'id="to-code-(\d+)" name="to_code"[^>]*>(.*?)</select>', re.DOTALL)
OPTION_VALUE = re.compile(r'<option value="([^"]+)"')
FINDING_LINK = re.compile(rf'href="{re.escape(BASE)}/findings/(\d+)"')


def _record(entry: dict) -> None:
    with _write_lock, DECISIONS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Reviewer(HttpUser):
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.email = ACCOUNTS["emails"][self.number % len(ACCOUNTS["emails"])]
        questions = ACCOUNTS["questions"]
        self.question = questions[self.number % len(questions)]
        # Pages of this question that only this user works on.
        self.stride = len(ACCOUNTS["emails"])
        self.page_number = self.number // len(questions) + 1
        self.rng = random.Random(self.number)
        self.done: set[int] = set()  # assignments and segments this user has already decided on
        self.page: dict = {}
        page = self.client.get("/sign-in", name="sign-in page")
        token = CSRF.search(page.text)
        with self.client.post(
            "/sign-in",
            data={"email": self.email, "password": ACCOUNTS["password"], "csrf_token": token.group(1) if token else ""},
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in failed for {self.email}: {response.status_code}")
        self.open_queue()

    # ---------------------------------------------------------------- the review queue

    def _queue_url(self) -> str:
        return f"{BASE}/review?question={self.question}&page={self.page_number}"

    def _parse(self, text: str) -> None:
        csrf, back = CSRF.search(text), RETURN_TO.search(text)
        statuses = {int(a): s for s, a in CODE_ROW.findall(text)}
        segment_of = {int(a): int(s) for a, s in ACCEPT.findall(text)}
        self.page = {
            "csrf": csrf.group(1) if csrf else "",
            "return_to": html.unescape(back.group(1)) if back else "",
            "suggested": [a for a, s in statuses.items() if s == "suggested" and a in segment_of],
            "segment_of": segment_of,
            "segments": [int(s) for s in STANCE_FORM.findall(text)],
            # The codes each assignment can be recoded to (the page leaves out its own code).
            "recode_to": {int(a): OPTION_VALUE.findall(options) for a, options in RECODE_SELECT.findall(text)},
        }

    def open_queue(self) -> None:
        response = self.client.get(self._queue_url(), name="review queue")
        if response.ok:
            self._parse(response.text)

    def _open_next_page(self) -> None:
        self.page_number += self.stride
        self.open_queue()

    @task(10)
    def browse_queue(self) -> None:
        if self.rng.random() < 0.3:
            self._open_next_page()
        else:
            self.open_queue()

    def _post(self, endpoint: str, data: dict, entry: dict) -> None:
        data = {**data, "csrf_token": self.page["csrf"], "return_to": self.page["return_to"]}
        with self.client.post(
            f"{BASE}/review/{endpoint}",
            data=data,
            name=f"review {endpoint} (POST)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"{endpoint} answered {response.status_code}")
                return
            response.success()
            location = response.headers.get("Location", "")
        _record({"user": self.email, **entry})
        after = self.client.get(location, name="review queue (after an action)")
        if after.ok:
            self._parse(after.text)

    def _suggestion(self) -> int | None:
        choices = [a for a in self.page.get("suggested", []) if a not in self.done]
        if not choices:
            self._open_next_page()
            choices = [a for a in self.page.get("suggested", []) if a not in self.done]
        return self.rng.choice(choices) if choices else None

    @task(8)
    def decide(self) -> None:
        assignment = self._suggestion()
        if assignment is None:
            return
        decision = "accept" if self.rng.random() < 0.7 else "reject"
        self.done.add(assignment)
        self._post(
            "decide",
            {"assignment_id": assignment, "decision": decision},
            {"action": decision, "assignment_id": assignment, "segment_id": self.page["segment_of"][assignment]},
        )

    @task(2)
    def recode(self) -> None:
        assignment = self._suggestion()
        if assignment is None:
            return
        targets = self.page["recode_to"].get(assignment) or []
        if not targets:
            return
        self.done.add(assignment)
        to_code = self.rng.choice(targets)
        self._post(
            "recode",
            {"assignment_id": assignment, "to_code": to_code},
            {
                "action": "recode",
                "assignment_id": assignment,
                "segment_id": self.page["segment_of"][assignment],
                "to_code": to_code,
            },
        )

    @task(3)
    def stance(self) -> None:
        segments = [s for s in self.page.get("segments", []) if -s not in self.done]
        if not segments:
            return
        segment = self.rng.choice(segments)
        self.done.add(-segment)  # segments kept apart from assignments by sign
        stance = self.rng.choice(ACCOUNTS["stances"])
        self._post(
            "stance",
            {"segment_id": segment, "stance": stance},
            {"action": "stance", "segment_id": segment, "stance": stance},
        )

    # ---------------------------------------------------------------- reading

    @task(2)
    def findings(self) -> None:
        response = self.client.get(f"{BASE}/findings/", name="findings list")
        ids = FINDING_LINK.findall(response.text) if response.ok else []
        if ids:
            self.client.get(f"{BASE}/findings/{self.rng.choice(ids)}", name="finding page")

    @task(2)
    def overview(self) -> None:
        self.client.get(BASE, name="project overview")

    @task(2)
    def keyword_search(self) -> None:
        word = self.rng.choice(ACCOUNTS["search_words"])
        self.client.get(f"{BASE}/search?q={word}&mode=keyword&question={self.question}", name="keyword search")

    @task(1)
    def semantic_search(self) -> None:
        word = self.rng.choice(ACCOUNTS["search_words"])
        self.client.get(
            f"{BASE}/search?q=support+with+{word}&mode=semantic&question={self.question}", name="semantic search"
        )
