"""A small synthetic consultation corpus with four clearly different topics, for the theme tests.

Sentences are built from templates so each topic has many different wordings of one concern,
as real returns do. Three topics are close to framework codes (waiting times -> WAI, SENCo
training -> SCO) or to nothing in particular (school transport); parking at the clinic matches
no SEND code and should come out as an emerging theme.
"""

from __future__ import annotations

from itertools import cycle, islice, product

WAITING = [
    f"{who} waited {how_long} for {what} {after}."
    for who, how_long, what, after in product(
        ["We", "My family", "Our son", "Our daughter", "Parents I know"],
        ["eighteen months", "over two years", "almost a year", "three years"],
        [
            "an autism assessment",
            "a speech and language therapy appointment",
            "the EHC needs assessment decision",
            "a referral to CAMHS",
            "an educational psychologist to visit",
        ],
        [
            "and nothing happened in the meantime",
            "while the waiting list kept growing",
            "because the delays are getting longer every year",
            "despite the legal timescale being missed",
        ],
    )
]

TRANSPORT = [
    f"{what} {problem} {effect}."
    for what, problem, effect in product(
        [
            "The school transport taxi",
            "The home to school minibus",
            "The council's school bus",
            "Travel assistance to school",
            "The transport to his special school",
        ],
        [
            "arrives late most mornings",
            "was withdrawn without warning",
            "changes driver every week",
            "takes over an hour each way",
            "has no escort trained in his needs",
        ],
        [
            "so she misses the start of lessons",
            "which leaves him anxious before school even starts",
            "and I had to give up work to drive him myself",
            "and the council will not listen to our complaints about the route",
        ],
    )
]

SENCO = [
    f"{who} {needs} {why}."
    for who, needs, why in product(
        [
            "The SENCo",
            "Every SENCo",
            "A school's special educational needs coordinator",
            "Our SENCo",
            "New SENCos",
        ],
        [
            "needs protected time and a proper national qualification",
            "should complete the mandatory SENCo training before taking the role",
            "must be part of the senior leadership team",
            "should hold the NASENCo award or the new NPQ",
            "needs training and time away from teaching",
        ],
        [
            "to coordinate support properly",
            "because the role is too big to do alongside a full timetable",
            "so that SEN support is led by an expert",
            "since parents rely on them to understand the graduated approach",
        ],
    )
]

PARKING = [
    f"{what} {problem} {effect}."
    for what, problem, effect in product(
        [
            "Parking at the child development clinic",
            "The car park at the children's centre",
            "Finding a parking space at the hospital clinic",
            "The parking charges at the clinic",
            "Disabled parking bays outside the clinic",
        ],
        [
            "is impossible on appointment days",
            "costs a fortune for a two hour visit",
            "are always taken by staff cars",
            "is so far from the entrance that my son cannot walk it",
            "means we circle the car park for half an hour",
            "has no spaces for wheelchair accessible vans",
        ],
        [
            "and we arrive stressed and late",
            "so we have missed appointments",
            "and nobody at the clinic seems to care about parking",
            "which makes every hospital visit an ordeal",
        ],
    )
]


def _spread(sentences: list[str], n: int, step: int) -> list[str]:
    """``n`` sentences picked every ``step`` places, so the sample covers all the template parts."""
    picked = list(dict.fromkeys(islice(cycle(sentences[::step] + sentences[1::step]), n * 2)))
    return picked[:n]


def topic_corpus() -> dict[str, list[str]]:
    """Four topics: 40 waiting, 40 transport, 40 SENCo, 30 parking sentences, all different."""
    corpus = {
        "waiting": _spread(WAITING, 40, 7),
        "transport": _spread(TRANSPORT, 40, 3),
        "senco": _spread(SENCO, 40, 3),
        "parking": _spread(PARKING, 30, 2),
    }
    for name, sentences in corpus.items():
        assert len(set(sentences)) == len(sentences), name
    return corpus
