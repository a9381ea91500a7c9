"""User YAML is read within bounds: ordinary anchors work; bombs, cycles and deep nesting are YAML errors."""

from __future__ import annotations

import time

import pytest
import yaml

from coproduce.guarded_yaml import MAX_DEPTH, load_guarded


def test_ordinary_yaml_and_anchors_load_as_with_safe_load():
    text = "base: &b {label: Agree, scale: [1, 2]}\nq1: *b\nq2: *b\nlist: [a, b]\n"
    assert load_guarded(text) == yaml.safe_load(text)
    assert load_guarded("") is None


def test_a_billion_laughs_is_refused_at_once():
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
    started = time.perf_counter()
    with pytest.raises(yaml.YAMLError, match="expands to more than"):
        load_guarded("\n".join(lines))
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: " + "[" * 5000 + "]" * 5000, f"nested more than {MAX_DEPTH} levels"),
        ("a: &a [1, *a]", "refers to a node that contains it"),
        ("a: !!python/object/apply:os.system ['true']", "could not determine a constructor"),
    ],
)
def test_hostile_documents_are_yaml_errors(text: str, message: str):
    with pytest.raises(yaml.YAMLError, match=message):
        load_guarded(text)
