"""The embedder's batches: sorted by length in the model's tokens, the same whoever plans them."""

from __future__ import annotations

import numpy as np

from coproduce.nlp import count_installed_tokens, load_embedder
from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder, length_sorted_batches

# Characters and tokens disagree: long words are few tokens, runs of one-letter words are many.
TEXTS = {
    "few-letters-many-tokens": "I a I a I a I a I a",
    "long-word": "Internationalisation",
    "short": "an EHCP",
    "letters": "a b c d e f g h",
    "also-long-word": "Notwithstanding",
}


def test_batches_follow_token_length_not_characters():
    batches = length_sorted_batches(TEXTS, 2, count_installed_tokens)
    order = [key for batch in batches for key, _ in batch]
    assert order == ["also-long-word", "long-word", "short", "letters", "few-letters-many-tokens"]
    assert [len(b) for b in batches] == [2, 2, 1]
    by_characters = [key for batch in length_sorted_batches(TEXTS, 2) for key, _ in batch]
    assert by_characters == ["short", "letters", "also-long-word", "few-letters-many-tokens", "long-word"]


def test_equal_token_lengths_keep_a_fixed_order():
    texts = {f"k{i}": "same length" for i in range(5)} | {"a": "same size"}
    first = length_sorted_batches(texts, 4, count_installed_tokens)
    again = length_sorted_batches(dict(reversed(list(texts.items()))), 4, count_installed_tokens)
    assert first[0][0][0] == "a"  # fewer characters first among equal token counts
    assert first[0][1:] == [("k0", "same length"), ("k1", "same length"), ("k2", "same length")]
    assert again[0][0][0] == "a"


def test_the_tokenizer_file_counts_what_the_loaded_model_counts():
    """A Dask driver plans batches from the tokenizer file without loading the model: the same batches."""
    texts = [*TEXTS.values(), "", "Ünïcødé 👍 and emoji", "word " * 400]
    loaded = SentenceEmbedder(model=load_embedder(), cache=EmbeddingCache())
    unloaded = SentenceEmbedder(cache=EmbeddingCache())
    counts = count_installed_tokens(texts)
    model = load_embedder()
    own = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
    assert [len(ids) for ids in own] == counts  # the loaded model's own tokenizer agrees with the file
    assert loaded.token_lengths(texts) == counts
    assert unloaded.token_lengths(texts) == counts
    assert unloaded._model is None  # counting did not load the model
    assert counts[-1] == 256  # truncated where SentenceTransformer truncates (max_seq_length)


def test_a_model_without_a_tokenizer_is_sorted_by_characters():
    class Fake:
        def encode(self, texts, **kwargs):
            return np.ones((len(texts), 384), dtype=np.float32)

    embedder = SentenceEmbedder(model=Fake(), cache=EmbeddingCache(), model_id="fake")
    assert embedder.token_lengths(["abc", "a"]) == [3, 1]


def test_vectors_match_a_bare_encode(embedder):
    texts = list(TEXTS.values())
    bare = load_embedder().encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.embed(texts), bare, atol=1e-5)
