"""Campaign detection: respondents who sent near-identical text, such as a template letter pasted with small edits.

Campaigns are found per respondent, not per answer: a respondent's responses are joined (in
question order) into one text, so a letter split across several answer boxes still matches.

Method (all deterministic: fixed ``num_perm`` and ``seed``, crc32 shingle hashes, sorted input):

1. Words are lower-cased runs of letters, digits and apostrophes; a text's shingles are its runs of
   ``shingle_words`` (3) consecutive words. Texts under ``min_words`` (25) words are never campaign
   members (short answers such as "I agree with the proposal" are alike by nature); they are
   listed in ``unprocessed``.
2. A datasketch MinHash of each shingle set, cut into the LSH bands datasketch's ``MinHashLSH``
   chooses for ``threshold`` (0.8 Jaccard: 9 bands of 13 rows for 128 permutations).
3. Respondents sharing a band are compared by the *exact* Jaccard of their shingle sets and joined
   (union-find, so groups are connected components) when it is at least ``threshold``. Within a
   band bucket a respondent is compared with the first member of each group in it and with the
   ``RECENT`` (8) latest members, not with every member: that keeps a campaign of 20,000 copies
   linear rather than quadratic. The price: a copy similar enough only to a few members of a big
   group, none of them among those compared, stays outside it.
4. Groups of at least ``min_group_size`` (3) respondents are campaigns. Pairs (2 respondents) are
   duplicates, not campaigns: often one person submitting twice. They are returned separately in
   :attr:`CampaignResult.duplicates` so nothing downstream mistakes them for a campaign.

Each group's example is its most typical member (highest mean Jaccard to a sample of the others)
and its similarity is the members' mean exact Jaccard to that example.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from coproduce.pipeline.base import CampaignGroup, ResponseText, StageResult, Unprocessed

WORD = re.compile(r"[a-z0-9']+")
EXAMPLE_SAMPLE = 50  # members compared when choosing a large group's example
RECENT = 8  # latest bucket members each respondent is also compared with


@dataclass(frozen=True)
class CampaignSettings:
    threshold: float = 0.8  # Jaccard of word-shingle sets
    shingle_words: int = 3
    num_perm: int = 128
    seed: int = 1
    min_group_size: int = 3
    min_words: int = 25

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        if self.min_group_size < 2:
            raise ValueError("min_group_size must be at least 2")


@dataclass
class CampaignResult(StageResult[CampaignGroup]):
    duplicates: list[CampaignGroup] = field(default_factory=list)  # groups below min_group_size


def campaign_respondents(groups: Iterable[CampaignGroup], responses: Iterable[ResponseText] = ()) -> set[int]:
    """The respondents in the groups, found from their response ids (or ``respondent_ids``, if a group has them)."""
    respondent_of = {r.response_id: r.respondent_id for r in responses}
    found: set[int] = set()
    for group in groups:
        named = group.respondent_ids
        if named:
            found.update(named)
            continue
        missing = [rid for rid in group.response_ids if rid not in respondent_of]
        if missing:
            raise ValueError(f"group {group.key} names responses {missing[:5]} not in the responses given")
        found.update(respondent_of[rid] for rid in group.response_ids)
    return found


def count_with_and_without(responses: Sequence[ResponseText], groups: Iterable[CampaignGroup]) -> tuple[int, int]:
    """(respondents, respondents outside any campaign): the two counts a report gives side by side."""
    everyone = {r.respondent_id for r in responses}
    return len(everyone), len(everyone - campaign_respondents(groups, responses))


def words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("\u2019", "'"))  # a curly apostrophe is the same word


def shingle_hashes(tokens: Sequence[str], size: int) -> np.ndarray:
    """Sorted unique crc32 hashes of the word shingles (crc32, unlike hash(), is the same in every process)."""
    size = min(size, len(tokens))
    shingles = {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}
    return np.unique(np.fromiter((zlib.crc32(s.encode()) for s in shingles), dtype=np.uint32, count=len(shingles)))


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    shared = len(np.intersect1d(a, b, assume_unique=True))
    return shared / (len(a) + len(b) - shared)


class MinHashCampaignDetector:
    def __init__(self, settings: CampaignSettings | None = None):
        self.settings = settings or CampaignSettings()

    def detect(self, responses: Sequence[ResponseText]) -> CampaignResult:
        s = self.settings
        texts, response_ids = _respondent_texts(responses)
        result = CampaignResult(items=[])
        people: list[int] = []
        shingles: list[np.ndarray] = []
        for respondent in sorted(texts):
            tokens = words(texts[respondent])
            if len(tokens) < s.min_words:
                reason = f"too short for campaign detection ({len(tokens)} words; needs {s.min_words})"
                result.unprocessed.append(Unprocessed(item=f"respondent {respondent}", reason=reason))
                continue
            people.append(respondent)
            shingles.append(shingle_hashes(tokens, s.shingle_words))
        components = self._components(shingles)
        groups = sorted((sorted(members) for members in components if len(members) > 1), key=lambda m: (-len(m), m))
        for members in groups:
            example, similarity = _example(members, shingles)
            kind, found = (
                ("campaign", result.items) if len(members) >= s.min_group_size else ("duplicate", result.duplicates)
            )
            found.append(
                CampaignGroup(
                    key=f"{kind}-{len(found) + 1}",
                    response_ids=sorted(rid for m in members for rid in response_ids[people[m]]),
                    example=texts[people[example]],
                    similarity=round(similarity, 4),
                    respondent_ids=sorted(people[m] for m in members),
                )
            )
        return result

    def _components(self, shingles: list[np.ndarray]) -> list[list[int]]:
        from datasketch import MinHash, MinHashLSH

        s = self.settings
        # Only datasketch's choice of bands (b x r) for the threshold is used; the buckets are built below.
        fixed_name = {"type": "dict", "basename": b"campaigns"}  # else it draws a random name
        bands = MinHashLSH(threshold=s.threshold, num_perm=s.num_perm, storage_config=fixed_name).hashranges
        signatures = [
            m.hashvalues
            for m in MinHash.generator((h.tolist() for h in shingles), num_perm=s.num_perm, seed=s.seed, hashfunc=int)
        ]
        parent = list(range(len(shingles)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for start, end in bands:
            buckets: dict[bytes, tuple[list[int], deque[int]]] = {}  # band value -> (anchors, recent members)
            for i, signature in enumerate(signatures):
                anchors, recent = buckets.setdefault(signature[start:end].tobytes(), ([], deque(maxlen=RECENT)))
                joined = False
                for other in (*anchors, *recent):
                    if find(other) == find(i):
                        joined = True
                    elif exact_jaccard(shingles[i], shingles[other]) >= s.threshold:
                        parent[find(i)] = find(other)
                        joined = True
                if not joined:
                    anchors.append(i)  # the first member of a new group in this bucket
                recent.append(i)
        members: dict[int, list[int]] = {}
        for i in range(len(shingles)):
            members.setdefault(find(i), []).append(i)
        return list(members.values())


def _respondent_texts(responses: Sequence[ResponseText]) -> tuple[dict[int, str], dict[int, list[int]]]:
    """Each respondent's responses joined in question order (unnumbered last), and their response ids."""
    ordered = sorted(
        responses, key=lambda r: (r.respondent_id, r.question_number is None, r.question_number or 0, r.response_id)
    )
    texts: dict[int, list[str]] = {}
    ids: dict[int, list[int]] = {}
    for r in ordered:
        texts.setdefault(r.respondent_id, []).append(r.text)
        ids.setdefault(r.respondent_id, []).append(r.response_id)
    return {k: "\n".join(v) for k, v in texts.items()}, ids


def _example(members: list[int], shingles: list[np.ndarray]) -> tuple[int, float]:
    """(the member most like the others, the mean Jaccard of the others to it)."""
    step = max(1, len(members) // EXAMPLE_SAMPLE)
    sample = members[::step][:EXAMPLE_SAMPLE]

    def typicality(m: int) -> float:
        return float(np.mean([exact_jaccard(shingles[m], shingles[o]) for o in sample if o != m] or [0.0]))

    example = max(sample, key=lambda m: (typicality(m), -m))
    others = [exact_jaccard(shingles[example], shingles[o]) for o in members if o != example]
    return example, float(np.mean(others))
