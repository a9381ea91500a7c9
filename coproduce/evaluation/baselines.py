"""Reference models reported beside ours, as commonly built and without threshold tuning.

- TF-IDF (word 1-2 grams) + linear SVC, one versus rest, a code assigned where the decision value is positive:
  pxtextmining's published baseline for the NHS FFT data.
- MiniLM embedding + logistic regression, one versus rest, a code assigned at probability 0.5.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from coproduce.evaluation.datasets import Dataset
from coproduce.evaluation.harness import Evaluation, fold_indices, score
from coproduce.evaluation.metrics import to_matrix
from coproduce.pipeline.base import Embedder


def _tfidf_svc(texts: list[str], gold: np.ndarray, test_texts: list[str], seed: int) -> np.ndarray:
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x, x_test = vectorizer.fit_transform(texts), vectorizer.transform(test_texts)
    out = np.zeros((len(test_texts), gold.shape[1]), dtype=bool)
    for j in range(gold.shape[1]):
        if gold[:, j].any() and not gold[:, j].all():
            out[:, j] = LinearSVC(C=1.0, random_state=seed).fit(x, gold[:, j]).decision_function(x_test) > 0
    return out


def _minilm_lr(vectors: np.ndarray, gold: np.ndarray, test_vectors: np.ndarray, seed: int) -> np.ndarray:
    out = np.zeros((len(test_vectors), gold.shape[1]), dtype=bool)
    for j in range(gold.shape[1]):
        if gold[:, j].any() and not gold[:, j].all():
            model = LogisticRegression(C=1.0, solver="liblinear", random_state=seed).fit(vectors, gold[:, j])
            out[:, j] = model.predict_proba(test_vectors)[:, 1] >= 0.5
    return out


BASELINES = {"TF-IDF + linear SVC": "tfidf-svc", "MiniLM + logistic regression": "minilm-lr"}


def cross_validate_baseline(dataset: Dataset, embed: Embedder, name: str, folds: int = 5, seed: int = 0) -> Evaluation:
    """Out-of-fold predictions of baseline ``name`` (a key of BASELINES) with the same folds as our coders."""
    started = time.perf_counter()
    texts = [r.text for r in dataset.records]
    gold = to_matrix([r.codes for r in dataset.records], dataset.code_ids)
    vectors = embed.embed(texts) if BASELINES[name] == "minilm-lr" else None
    pred = np.zeros_like(gold)
    for test in fold_indices(len(texts), folds, seed):
        train = np.setdiff1d(np.arange(len(texts)), test)
        if vectors is None:
            pred[test] = _tfidf_svc([texts[i] for i in train], gold[train], [texts[i] for i in test], seed)
        else:
            pred[test] = _minilm_lr(vectors[train], gold[train], vectors[test], seed)
    return score(dataset, f"{folds}-fold CV", f"baseline: {name}", pred, seconds=time.perf_counter() - started)


def train_test_baseline(train: Dataset, test: Dataset, embed: Embedder, name: str, seed: int = 0) -> Evaluation:
    started = time.perf_counter()
    texts = [r.text for r in train.records]
    gold = to_matrix([r.codes for r in train.records], test.code_ids)
    test_texts = [r.text for r in test.records]
    if BASELINES[name] == "minilm-lr":
        pred = _minilm_lr(embed.embed(texts), gold, embed.embed(test_texts), seed)
    else:
        pred = _tfidf_svc(texts, gold, test_texts, seed)
    return score(test, "train/test", f"baseline: {name}", pred, seconds=time.perf_counter() - started)
