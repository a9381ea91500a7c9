"""YAML from users (frameworks, column mappings), read safely and within bounds.

``yaml.safe_load`` never runs code, but two shapes of document still hurt: nesting thousands
deep overflows the composer's recursion (a RecursionError, not a YAML error), and anchors and
aliases can describe a document far larger than its text ("billion laughs": nine lines that
expand to 10^9 items when anything walks or prints them). Both are refused here as YAML errors,
with the line, so every caller reports them as it reports any other invalid YAML.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_DEPTH = 64  # real frameworks nest four or five levels
MAX_EXPANDED_NODES = 200_000  # every node counted once per place it appears, aliases expanded


class YamlTooComplexError(yaml.MarkedYAMLError):
    """A document nested too deeply, too large once its aliases are expanded, or referring to itself."""


class _GuardedLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlTooComplexError(
                    problem=f"the YAML is nested more than {MAX_DEPTH} levels deep",
                    problem_mark=self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1

    def compose_document(self) -> Node | None:
        node = super().compose_document()  # type: ignore[no-untyped-call]
        if node is not None:
            _check_expanded_size(node)
        return node


def _check_expanded_size(root: Node) -> None:
    """Count the nodes the document would have with every alias copied out; refuse cycles and bombs."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if depth > 4 * MAX_DEPTH:  # aliases inside aliases can nest deeper than the text does
            raise YamlTooComplexError(
                problem="aliases nest the YAML too deeply; write the items out instead", problem_mark=node.start_mark
            )
        if key in open_nodes:
            raise YamlTooComplexError(
                problem="an alias refers to a node that contains it", problem_mark=node.start_mark
            )
        open_nodes.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        open_nodes.discard(key)
        if total > MAX_EXPANDED_NODES:
            raise YamlTooComplexError(
                problem=f"the YAML expands to more than {MAX_EXPANDED_NODES:,} items (anchors and aliases repeat "
                "parts of it); write the items out instead",
                problem_mark=node.start_mark,
            )
        sizes[key] = total
        return total

    size(root, 0)


def load_guarded(text: str) -> Any:
    """Like ``yaml.safe_load``, but a too-deep, self-referring or alias-bomb document raises a YAMLError."""
    loader = _GuardedLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]
