"""The theme reducer: exact cosine neighbours, and UMAP that gives back the coordinates of fitted rows."""

from __future__ import annotations

import numpy as np
import pytest

from coproduce.pipeline.theme_reducer import ExactNeighboursUMAP, exact_cosine_neighbours, release_gil_in_layout


def unit_rows(n: int, dims: int = 24, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_neighbours_match_a_brute_force_search_across_blocks(monkeypatch):
    import coproduce.pipeline.theme_reducer as reducer

    monkeypatch.setattr(reducer, "BLOCK_ROWS", 7)  # several blocks, the last one short
    x = unit_rows(30)
    indices, distances = exact_cosine_neighbours(x, 5)
    brute = 1.0 - x @ x.T
    for row in range(len(x)):
        assert indices[row, 0] == row and distances[row, 0] == 0.0
        expected = [row, *[j for j in np.argsort(brute[row], kind="stable") if j != row][:4]]
        assert indices[row].tolist() == expected
        np.testing.assert_allclose(distances[row, 1:], brute[row, expected[1:]], atol=1e-6)
    assert np.all(np.diff(distances, axis=1) >= 0)


def test_identical_rows_are_ordered_by_index():
    x = np.repeat(unit_rows(2), 4, axis=0)  # rows 0-3 equal, 4-7 equal: template responses
    indices, distances = exact_cosine_neighbours(x, 4)
    assert indices[1].tolist() == [1, 0, 2, 3]
    assert indices[6].tolist() == [6, 4, 5, 7]
    np.testing.assert_allclose(distances[:, 1:], 0.0, atol=1e-6)


@pytest.mark.slow
def test_umap_layout_is_repeatable_and_transform_returns_fitted_rows():
    x = unit_rows(60, seed=3)
    first = ExactNeighboursUMAP(n_neighbors=10, n_components=5, n_epochs=50, random_state=7).fit_transform(x)
    reducer = ExactNeighboursUMAP(n_neighbors=10, n_components=5, n_epochs=50, random_state=7)
    second = reducer.fit_transform(x)
    assert first.shape == (60, 5)
    np.testing.assert_array_equal(first, second)
    subset = [5, 17, 42]
    np.testing.assert_array_equal(reducer.transform(x[subset]), second[subset])
    with pytest.raises(ValueError, match="not in the fit"):
        reducer.transform(unit_rows(2, seed=99))


def test_the_layout_kernel_runs_without_the_gil_once_released():
    assert release_gil_in_layout() is True
    from umap import layouts  # imported by release_gil_in_layout() without umap's ImportWarning

    kernel = layouts._nb_optimize_layout_euclidean_single_epoch
    assert kernel.targetoptions["nogil"] is True
    assert kernel.targetoptions["parallel"] is False  # still single-threaded within a fit: repeatable
    assert release_gil_in_layout() is True and layouts._nb_optimize_layout_euclidean_single_epoch is kernel
