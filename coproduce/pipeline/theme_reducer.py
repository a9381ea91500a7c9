"""UMAP for theme discovery, without the two costs that dominated it.

Measured on 3,000 MiniLM-sized vectors (cProfile, docs/benchmarks.md): UMAP spent over 90% of its fit in
scikit-learn's ``pairwise_distances`` calling UMAP's numba cosine once per pair through Python (below
4,096 points UMAP computes every pairwise distance that way), and BERTopic's zero-shot step then called
``transform`` on nearly every segment again, which searches neighbours and runs a layout a second time.

:class:`ExactNeighboursUMAP` computes the exact cosine nearest neighbours itself with one blocked matrix
product (the vectors are unit length, so cosine distance is ``1 - x @ y``), hands them to UMAP as
``precomputed_knn``, and remembers the layout of every row it fitted. ``transform`` then returns the
fitted coordinates of rows it has seen (which is all BERTopic asks for: a subset of the rows it fitted)
and refuses any other row, instead of projecting it approximately. Fixed seed, one thread: the same
input gives the same layout.

UMAP's seeded layout is single-threaded and its numba kernel holds the GIL, so two fits in two threads took
as long as one after the other. :func:`release_gil_in_layout` compiles the same kernel with ``nogil=True``
(same code, same flags otherwise: the same layout), so the theme finder can fit several groups at once.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

BLOCK_ROWS = 2048  # rows of the similarity matrix held at once: 2048 x 5000 float32 is 40 MB

_lock = threading.Lock()
_quiet_depth = 0
_quiet: Any = None
_gil_released = False


def release_gil_in_layout() -> bool:
    """Swap UMAP's single-threaded layout kernel for the same kernel compiled without the GIL (once per process).

    UMAP looks the kernel up in its module on every fit, so replacing the module attribute is enough. Returns
    False (and changes nothing) where this UMAP does not have the kernel under the name it had when this was
    written (umap-learn 0.5): fits still work, they just do not overlap.
    """
    global _gil_released
    with _lock:
        if _gil_released:
            return True
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ImportWarning)  # "Tensorflow not installed": not needed
            import numba
            from umap import layouts
        kernel = getattr(layouts, "_optimize_layout_euclidean_single_epoch", None)
        if kernel is None or not hasattr(layouts, "_nb_optimize_layout_euclidean_single_epoch"):
            return False
        layouts._nb_optimize_layout_euclidean_single_epoch = numba.njit(
            kernel, fastmath=True, parallel=False, nogil=True
        )
        _gil_released = True
        return True


@contextmanager
def quiet_umap_fit() -> Iterator[None]:
    """Silence UMAP's warning that a precomputed graph cannot transform new data (we never ask it to).

    ``warnings.catch_warnings`` swaps one process-wide filter list, so two threads each entering and leaving
    their own would restore each other's filters out of order. Fits running at once share one, entered by
    the first and left by the last.
    """
    global _quiet_depth, _quiet
    with _lock:
        if _quiet_depth == 0:
            _quiet = warnings.catch_warnings()
            _quiet.__enter__()
            warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                _quiet.__exit__(None, None, None)
                _quiet = None


def exact_cosine_neighbours(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, cosine distances) of each row's ``k`` nearest rows, itself first; ties broken by row index."""
    x = _unit(x)
    n = len(x)
    k = min(k, n)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        dist = 1.0 - x[start:stop] @ x.T
        rows = np.arange(stop - start)
        dist[rows, np.arange(start, stop)] = -1.0  # each row is its own nearest neighbour, as UMAP expects
        # lexsort on (index, distance): deterministic among equal distances (identical template texts)
        part = np.argpartition(dist, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (stop - start, 1))
        part_dist = np.take_along_axis(dist, part, axis=1)
        order = np.lexsort((part, part_dist), axis=1)
        indices[start:stop] = np.take_along_axis(part, order, axis=1)
        distances[start:stop] = np.maximum(np.take_along_axis(part_dist, order, axis=1), 0.0)
    return indices, distances


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


class ExactNeighboursUMAP:
    """UMAP on an exact cosine neighbour graph; ``transform`` gives back fitted rows' coordinates."""

    def __init__(
        self, n_neighbors: int, n_components: int, n_epochs: int, random_state: int, min_dist: float = 0.0
    ) -> None:
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.n_epochs = n_epochs
        self.random_state = random_state
        self.min_dist = min_dist
        self.embedding_: np.ndarray | None = None
        self._row_of: dict[bytes, int] = {}

    def fit(self, x: np.ndarray, y: Any = None) -> ExactNeighboursUMAP:
        self.fit_transform(x, y)
        return self

    def fit_transform(self, x: np.ndarray, y: Any = None) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = len(x)
        k = max(2, min(self.n_neighbors, n - 1))
        indices, distances = exact_cosine_neighbours(x, k)
        release_gil_in_layout()  # also imports UMAP without its ImportWarning
        from umap import UMAP

        model = UMAP(
            n_neighbors=k,
            n_components=max(2, min(self.n_components, n - 2)),
            metric="cosine",
            min_dist=self.min_dist,
            n_epochs=self.n_epochs,
            random_state=self.random_state,
            n_jobs=1,
            precomputed_knn=(indices, distances),
        )
        with quiet_umap_fit():
            embedding = model.fit_transform(_unit(x))
        self.embedding_ = np.asarray(embedding, dtype=np.float32)
        self._row_of = {}
        for i, row in enumerate(x):
            self._row_of.setdefault(row.tobytes(), i)
        return self.embedding_

    def transform(self, x: np.ndarray) -> np.ndarray:
        if self.embedding_ is None:
            raise RuntimeError("fit the reducer before transform")
        x = np.ascontiguousarray(x, dtype=np.float32)
        rows = [self._row_of.get(row.tobytes()) for row in x]
        missing = sum(r is None for r in rows)
        if missing:
            raise ValueError(f"{missing} rows were not in the fit: this reducer only gives back fitted rows")
        return self.embedding_[np.asarray(rows, dtype=np.int64)]
