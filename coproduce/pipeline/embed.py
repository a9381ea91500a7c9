"""Sentence embeddings with a cache keyed by model id and text hash: a re-run embeds only new text.

The cache is a small SQLite file of float32 vectors beside the project database (or in memory
for tests). Texts are embedded in batches sorted by their length in tokens, because padding a batch
to its longest member is what costs time on a CPU, and torch uses every core present. (Sorting by
characters, as ``SentenceTransformer.encode`` does, padded 1,000 synthetic responses' sentences to 20%
more tokens than they hold, against 1% by tokens: the encode took 18-29% longer; docs/benchmarks.md.)
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coproduce.nlp import EMBEDDING_MODEL_ID, count_installed_tokens, load_embedder

DIMENSIONS = 384


def text_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()


class EmbeddingCache:
    """Vectors by (model id, text) hash. ``path=None`` keeps them in memory only."""

    def __init__(self, path: Path | None = None):
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.commit()

    def get_result(self, key: str) -> str | None:
        """A stage's stored output (JSON) for inputs hashed to ``key``, so an unchanged stage is not re-run."""
        with self._lock:
            row = self._db.execute("SELECT value FROM results WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put_result(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)", (key, value))
            self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for key, blob in self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class SentenceEmbedder:
    """all-MiniLM-L6-v2 (or any SentenceTransformer-like model object) behind a cache.

    ``model`` is a loaded model object, never a name: nothing is fetched from a hub. Vectors
    are L2-normalised, so a dot product is the cosine similarity.
    """

    def __init__(
        self,
        model: Any | None = None,
        cache: EmbeddingCache | None = None,
        model_id: str = EMBEDDING_MODEL_ID,
        batch_size: int = 64,
        progress: Callable[[int, int], None] | None = None,
    ):
        self._model = model
        self._model_lock = threading.Lock()  # a server's warm-up thread and a first search may ask at once
        self.model_id = model_id
        self.cache = cache if cache is not None else EmbeddingCache()  # an empty cache is falsy (len 0)
        self.batch_size = batch_size
        self.progress = progress
        self.encoded = 0  # texts actually run through the model (not served from the cache)

    @property
    def model(self) -> Any:
        if self._model is None:
            with self._model_lock:
                if self._model is None:
                    self._model = load_embedder()
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        keys, found, missing = self.lookup(texts)
        if missing:
            found.update(self._encode(missing))
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def lookup(self, texts: Sequence[str]) -> tuple[list[str], dict[str, np.ndarray], dict[str, str]]:
        """(key per text, cached vectors by key, texts still to encode by key, each distinct text once)."""
        keys = [text_key(self.model_id, t) for t in texts]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        return keys, found, missing

    def _encode(self, missing: dict[str, str]) -> dict[str, np.ndarray]:
        import torch

        torch.set_num_threads(os.cpu_count() or 1)
        batches = length_sorted_batches(missing, self.batch_size, self.token_lengths)
        out: dict[str, np.ndarray] = {}
        done = 0
        for batch in batches:
            vectors = encode_batch(self.model, [t for _, t in batch], self.batch_size)
            chunk = {k: v for (k, _), v in zip(batch, vectors, strict=True)}
            self.cache.put_many(chunk)
            out.update(chunk)
            self.encoded += len(batch)
            done += len(batch)
            if self.progress:
                self.progress(done, len(missing))
        return out

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in the model's tokens (as truncated).

        The installed MiniLM (``model_id`` names the model, as the cache keys do) is counted from its tokenizer
        file, which counts as the loaded model does (tested) without loading it: a Dask driver only plans batches.
        Another model is counted by its own tokenizer; one without a tokenizer, in characters.
        """
        if self.model_id == EMBEDDING_MODEL_ID:
            return count_installed_tokens(texts)
        tokenizer = getattr(self.model, "tokenizer", None)
        if tokenizer is None or not callable(tokenizer):
            return [len(t) for t in texts]
        limit = getattr(self.model, "max_seq_length", None)
        ids = tokenizer(list(texts), truncation=limit is not None, max_length=limit)["input_ids"]
        return [len(i) for i in ids]


def length_sorted_batches(
    missing: dict[str, str], batch_size: int, token_lengths: Callable[[Sequence[str]], list[int]] | None = None
) -> list[list[tuple[str, str]]]:
    """(key, text) batches in order of length in tokens (characters without ``token_lengths``): less padding.

    A vector depends (by about 1e-7) on the other texts padded into its batch, so whoever encodes these texts,
    in one process or spread over workers (``pipeline.distributed``), uses exactly these batches.
    """
    items = list(missing.items())
    tokens = token_lengths([t for _, t in items]) if token_lengths and items else [0] * len(items)
    order = sorted(range(len(items)), key=lambda i: (tokens[i], len(items[i][1])))  # stable: ties keep input order
    ordered = [items[i] for i in order]
    return [ordered[start : start + batch_size] for start in range(0, len(ordered), batch_size)]


def encode_batch(model: Any, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """One batch through the model: L2-normalised float32 vectors."""
    vectors = model.encode(
        list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


CACHE_FILENAME = "embeddings.sqlite"


def instance_embedder(instance_dir: Path, progress: Callable[[int, int], None] | None = None) -> SentenceEmbedder:
    """The embedder the import (safeguarding check) and the analysis share, with its cache in the instance
    folder: a sentence embedded when a file is imported is served from the cache when it is analysed."""
    return SentenceEmbedder(cache=EmbeddingCache(Path(instance_dir) / CACHE_FILENAME), progress=progress)
