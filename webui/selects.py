"""``<option>`` tags built in Python for selects repeated many times on a page.

govukSelect renders each option through several macro calls; a review page has three selects on
every one of its 25 segments, and the filter form nine more, which made option rendering most of the
page's time. The templates call these globals and pass the result to ``segments/_select.html``'s
``select_field``, which writes govukSelect's markup. Every value and text is escaped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import Flask
from markupsafe import Markup, escape


def option_tags(
    items: Iterable[tuple[str, str]], first: str, *, selected: str | None = None, exclude: str | None = None
) -> Markup:
    """``first`` (an empty value), then ``items`` as (value, text), leaving out ``exclude`` and marking
    ``selected``."""
    # Plain strings joined once: Markup's % operator cost more than the rest of the selects.
    tags = [f'<option value="">{escape(first)}</option>']
    for value, text in items:
        if value == exclude:
            continue
        chosen = " selected" if value == selected else ""
        tags.append(f'<option value="{escape(value)}"{chosen}>{escape(text)}</option>')
    return Markup("\n    ".join(tags))


def item_tags(items: Iterable[Mapping[str, object]]) -> Markup:
    """Tags for govukSelect-style items (``value``, ``text``, ``selected``)."""
    tags = []
    for item in items:
        chosen = " selected" if item.get("selected") else ""
        tags.append(f'<option value="{escape(item.get("value", ""))}"{chosen}>{escape(item.get("text", ""))}</option>')
    return Markup("\n    ".join(tags))


def init_app(app: Flask) -> None:
    app.add_template_global(option_tags)
    app.add_template_global(item_tags)
