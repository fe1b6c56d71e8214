"""Shared fixtures: a tiny encoder trained in seconds, so no test downloads anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("XCRL_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer, hidden-32 XLM-R with its tokenizer, pretrained for a few steps on a generated corpus."""
    from xcrl_cli.config import PretrainConfig
    from xcrl_cli.pretrain import pretrain_encoder

    corpus = tmp_path_factory.mktemp("corpus")
    words = ["market", "bank", "vote", "rain", "good", "bad", "runs", "sees", "the", "a", "not", "city"]
    for lang, suffix in [("en", ""), ("de", "en"), ("fr", "e")]:
        lines = [" ".join(words[(i * 7 + j * 3) % len(words)] + suffix for j in range(6)) for i in range(60)]
        (corpus / f"{lang}.txt").write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path_factory.mktemp("encoder") / "enc"
    cfg = PretrainConfig(vocab_size=120, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                         max_length=32, epochs=1, batch_size=32)
    pretrain_encoder(corpus, out, cfg)
    return out


@pytest.fixture(scope="session")
def params():
    from xcrl_cli.config import load_params

    return load_params(ROOT / "params.yaml")


def real_dir(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real data samples not found at {path} (../shared/data/real is absent)")
    return path
