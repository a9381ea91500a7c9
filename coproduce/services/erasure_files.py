"""Erasure outside the database: a respondent's vectors in the embedding cache, and uploads holding their file.

The embedding cache (``instance/embeddings.sqlite``) is keyed by a hash of model id and text, so
it is searched by hashing the respondent's texts: their segments, their answers, and the
sentences of their original answers (the safeguarding check embeds those at import). A vector is
kept when another respondent wrote the same text. The cache's stage results (themes and campaigns
computed from everyone's text) are emptied: they are a speed-up only, and the next analysis
refits. Deleted SQLite pages are overwritten (``secure_delete``), so the text does not linger in
the file.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from coproduce.config import Settings
from coproduce.nlp import EMBEDDING_MODEL_ID
from coproduce.pipeline.embed import CACHE_FILENAME, text_key

TEXT_SUFFIXES = (".txt", ".csv", ".jsonl")


def cache_path(settings: Settings) -> Path:
    return Path(settings.instance_dir) / CACHE_FILENAME


def cache_keys(texts: Iterable[str], model_id: str = EMBEDDING_MODEL_ID) -> set[str]:
    return {text_key(model_id, t) for t in texts if t}


def cached_keys(settings: Settings, keys: set[str]) -> set[str]:
    """Which of ``keys`` the instance's embedding cache holds."""
    path = cache_path(settings)
    if not keys or not path.is_file():
        return set()
    with sqlite3.connect(str(path)) as db:
        found: set[str] = set()
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(k for (k,) in db.execute(f"SELECT key FROM vectors WHERE key IN ({marks})", chunk))
    return found


def delete_cached(settings: Settings, keys: set[str]) -> tuple[int, int]:
    """Delete ``keys`` from the cache and empty its stage results; returns (vectors, results) deleted."""
    path = cache_path(settings)
    if not path.is_file():
        return 0, 0
    db = sqlite3.connect(str(path))
    try:
        db.execute("PRAGMA secure_delete=ON")  # zero the freed pages: the text must not stay in the file
        ordered = sorted(keys)
        vectors = 0
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            vectors += db.execute(f"DELETE FROM vectors WHERE key IN ({marks})", chunk).rowcount
        results = db.execute("DELETE FROM results").rowcount
        db.commit()
    finally:
        db.close()
    return vectors, results


def matching_uploads(settings: Settings, project_slug: str, source_sha256: str | None, texts: list[str]) -> list[Path]:
    """Upload folders of the project holding the respondent's file: the same bytes as their source, or a
    text file (.txt, .csv, .jsonl) containing one of their answers."""
    from coproduce.services.import_uploads import load_upload, uploads_dir

    root = uploads_dir(settings)
    if not root.is_dir():
        return []
    long_texts = [t for t in texts if len(t) >= 20]
    found = []
    for folder in sorted(root.iterdir()):
        upload = load_upload(settings, project_slug, folder.name)
        if upload is None:
            continue
        data = upload.path.read_bytes()
        same_file = source_sha256 is not None and hashlib.sha256(data).hexdigest() == source_sha256
        text = data.decode("utf-8", errors="replace") if upload.path.suffix.lower() in TEXT_SUFFIXES else ""
        if same_file or any(t in text for t in long_texts):
            found.append(upload.path.parent)
    return found


def delete_uploads(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
