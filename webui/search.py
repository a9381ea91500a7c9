"""Search a project's segments by keyword or meaning, with the same filters as review.

The sentence embedder is made lazily, once per app, by the factory in
``app.extensions["coproduce.embedder"]`` (tests put their own session-wide embedder there); the
segment vectors searched so far stay in memory in ``app.extensions["coproduce.segment_vectors"]``, and
counts of a question's segments in ``app.extensions["coproduce.segment_cache"]`` (review uses it too). Without
the model package, semantic search says which package is missing and shows keyword matches instead.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace

from flask import Blueprint, Flask, current_app, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup, escape

from coproduce.errors import ModelMissingError
from coproduce.importers.base import RESPONDENT_TYPES
from coproduce.pipeline.embed import SentenceEmbedder
from coproduce.services.search import keyword_search, semantic_search
from coproduce.services.segment_cache import SegmentCache
from coproduce.services.segment_filters import SegmentPage, filter_options, filtered_segments
from coproduce.services.segment_vectors import SegmentVectors
from coproduce.store.models import Project
from webui import segment_filter_form
from webui.db import get_session
from webui.permissions import project_page

bp = Blueprint("search", __name__, url_prefix="/projects")

EMBEDDER = "coproduce.embedder"
SEGMENT_VECTORS = "coproduce.segment_vectors"
SEGMENT_CACHE = "coproduce.segment_cache"
MODES = {
    "keyword": "Keyword: segments containing these words",
    "semantic": "Meaning: segments saying something similar",
}


def default_embedder_factory(app: Flask) -> Callable[[], SentenceEmbedder]:
    """A factory giving one embedder per app, made on first use, with its cache in the instance folder
    (the file the import and the analysis fill). Raises ModelMissingError while the model is not installed."""
    from coproduce.nlp import embedding_model_path
    from coproduce.pipeline.embed import instance_embedder

    lock = threading.Lock()
    made: list[SentenceEmbedder] = []

    def get() -> SentenceEmbedder:
        with lock:
            if not made:
                embedding_model_path()  # names the package to install when it is missing
                made.append(instance_embedder(app.extensions["coproduce.settings"].instance_dir))
            return made[0]

    return get


def warm_embedder(app: Flask) -> threading.Thread | None:
    """Load the search model in a background thread (with the ``warm_search_model`` setting): servers call this
    as each process starts. A missing model package is logged, and search by meaning says so when used."""
    if not app.extensions["coproduce.settings"].warm_search_model:
        return None

    def warm() -> None:
        from coproduce.pipeline.embed import encode_batch

        try:
            embedder = app.extensions[EMBEDDER]()
            encode_batch(embedder.model, ["warm up"], 1)  # the first forward pass sets up torch's kernels too
        except ModelMissingError as exc:
            app.logger.warning("search by meaning is unavailable: %s", exc)
        except Exception:  # a failed warm-up must not stop the server; the first search will say what is wrong
            app.logger.exception("could not load the search model in advance")

    thread = threading.Thread(target=warm, name="coproduce-warm-search-model", daemon=True)
    thread.start()
    return thread


@bp.record_once
def _install_factory(state: BlueprintSetupState) -> None:
    state.app.extensions.setdefault(EMBEDDER, default_embedder_factory(state.app))
    state.app.extensions.setdefault(SEGMENT_VECTORS, SegmentVectors())
    state.app.extensions.setdefault(SEGMENT_CACHE, SegmentCache())


@bp.app_template_filter("highlight")
def highlight(text: str, query: str | None) -> Markup:
    """``text`` escaped, with each case-insensitive occurrence of ``query`` in <mark>."""
    if not query:
        return escape(text)
    parts: list[Markup] = []
    last = 0
    for match in re.finditer(re.escape(query), text, flags=re.IGNORECASE):
        parts.append(escape(text[last : match.start()]))
        parts.append(Markup("<mark>%s</mark>") % match.group())
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


@bp.get("/<slug>/search")
@project_page
def index(project: Project) -> ResponseReturnValue:
    db = get_session()
    options = filter_options(db, project)
    form = segment_filter_form.parse(request.args, options, extra_keys=("q", "mode"))
    # A panel member's own blind-coding segments stay out of sight until they have coded them.
    flt = replace(form.filter, hide_blind_for=current_user.user.id)
    query = form.values.get("q", "").strip()
    mode = form.values.get("mode") if form.values.get("mode") in MODES else "keyword"
    size = current_app.config["PAGE_SIZE"]
    notice = None
    page: SegmentPage | None = None
    if mode == "semantic" and query:
        try:
            embedder = current_app.extensions[EMBEDDER]()
            vectors = current_app.extensions[SEGMENT_VECTORS]
            cache = current_app.extensions[SEGMENT_CACHE]
            page = semantic_search(db, project, flt, query, embedder, form.page, size, vectors, cache)
        except (ModelMissingError, ImportError) as error:
            notice = f"Search by meaning is not available here: {error}. Showing keyword matches instead."
    if page is None and query:
        page = keyword_search(db, project, flt, query, form.page, size, current_app.extensions[SEGMENT_CACHE])
    elif page is None and form.filter.active:
        page = filtered_segments(db, project, flt, form.page, size, counts=current_app.extensions[SEGMENT_CACHE])
    keyword_used = page is not None and not page.scores and bool(query)

    def page_url(n: int) -> str:
        return url_for("search.index", slug=project.slug, **form.query(page=n))

    return render_template(
        "search/index.html",
        project=project,
        form=form,
        query=query,
        mode=mode,
        modes=MODES,
        page=page,
        notice=notice,
        mark=query if keyword_used else None,
        page_url=page_url,
        selects=segment_filter_form.select_fields(options, form, RESPONDENT_TYPES),
    )
