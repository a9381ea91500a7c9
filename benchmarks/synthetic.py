"""Synthetic consultation responses for benchmarks: about 60 words each, fictional, reproducible.

Sentences are built from SEND topics, openings, details and endings drawn at random, so almost
every sentence is new text (an embedding cache cannot flatter a first run), and 5% of
respondents paste one of a few campaign letters with small edits, as real consultations see.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

TOPICS = [
    ("waiting", ["the wait for an assessment", "waiting lists for speech therapy", "delays in the EHC assessment"]),
    ("training", ["teacher training on autism", "SEND training for support staff", "training for SENCos"]),
    ("funding", ["ring-fenced funding for SEND", "the high needs block", "funding for support in school"]),
    ("inclusion", ["inclusion in mainstream school", "reasonable adjustments in class", "part-time timetables"]),
    ("transition", ["moving to secondary school", "planning for college at sixteen", "the move into adult services"]),
    ("mediation", ["mandatory mediation before tribunal", "the cost of going to tribunal", "advice from SENDIASS"]),
    ("health", ["access to CAMHS", "occupational therapy in school", "diagnosis pathways for ADHD"]),
    ("voice", ["listening to what children say", "young people's views in their plan", "the child's own words"]),
    ("transport", ["school transport for disabled pupils", "the taxi to the special school", "travel training"]),
    ("parking", ["parking at the clinic", "the car park at the hospital", "finding a space at the health centre"]),
]
OPENINGS = [
    "We need better {t}",
    "Our family struggled with {t}",
    "The local authority must improve {t}",
    "In our experience {t} was poor",
    "Parents told us that {t} matters most",
    "There should be national standards for {t}",
    "My son waited too long because of {t}",
    "Schools should be held to account for {t}",
]
DETAILS = [
    "for {n} months",
    "across {area}",
    "for children with {need}",
    "especially in year {year}",
    "when the plan was reviewed",
    "after the annual review in {month}",
    "even with an EHCP in place",
    "despite repeated requests",
]
ENDINGS = ["", " and nothing changed", " which caused real distress", " so we had to pay privately", " and it helped"]
AREAS = ["the north", "rural areas", "our county", "the city", "coastal towns", "the borough"]
NEEDS = ["autism", "ADHD", "dyslexia", "complex medical needs", "hearing loss", "social anxiety", "Down syndrome"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
TYPES = [("parent_carer", 0.55), ("young_person", 0.12), ("child", 0.05), ("professional", 0.2), ("organisation", 0.08)]
CAMPAIGN_LETTERS = [
    "We the undersigned call on the government to fully fund SEND support in every school, to keep the legal "
    "rights families have to an EHC plan, and to stop any move to mandatory mediation before families can go to "
    "tribunal. Children cannot wait while budgets are argued over and every child deserves the support they need.",
    "As members of the campaign we ask that national standards are set as a floor and not a ceiling, that local "
    "authorities are held to account when they break the law, and that parents are treated as equal partners in "
    "every decision about their child's education, health and care.",
]


def sentence(rng: random.Random) -> str:
    _, phrases = rng.choice(TOPICS)
    text = rng.choice(OPENINGS).format(t=rng.choice(phrases))
    detail = rng.choice(DETAILS).format(
        n=rng.randint(2, 30),
        area=rng.choice(AREAS),
        need=rng.choice(NEEDS),
        year=rng.randint(1, 13),
        month=rng.choice(MONTHS),
    )
    return f"{text} {detail}{rng.choice(ENDINGS)}."


def response_text(rng: random.Random, words: int = 60) -> str:
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(sentence(rng))
    return " ".join(sentences)


def campaign_text(rng: random.Random) -> str:
    letter = rng.choice(CAMPAIGN_LETTERS).split()
    for _ in range(rng.randint(0, 3)):  # a few words changed, as people personalise a template
        letter[rng.randrange(len(letter))] = rng.choice(["really", "urgently", "all", "our", "local"])
    return " ".join(letter)


def respondent_type(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for kind, share in TYPES:
        total += share
        if roll < total:
            return kind
    return TYPES[-1][0]


def write_family_feedback_csv(path: Path, responses: int, seed: int = 7, question: int = 1) -> Path:
    """A family-feedback CSV the importer takes: one response per row, answering one question."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["family id", "respondent type", "question", "consent", "feedback"])
        for i in range(responses):
            text = campaign_text(rng) if rng.random() < 0.05 else response_text(rng)
            consent = "yes" if rng.random() < 0.7 else "no"
            writer.writerow([f"R{i:06d}", respondent_type(rng), question, consent, text])
    return path
