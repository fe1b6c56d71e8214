"""Shared fixtures: a tiny encoder trained in seconds, so no test downloads anything."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("XCRL_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")  # else each dvc command starts a process of its own to report usage
# Threads waiting for work sleep rather than spin: the suite runs in 2 processes (`make test`), each beside stages with
# workers of their own, and OpenMP's spinning threads took a core's time from the rest (7m31s against 8m10s here).
# Read when torch loads, which no test module does before this file.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
# The real dataset samples, read in place: ../shared/data/real beside the checkout, or wherever XCRL_REAL_DATA points.
REAL = Path(os.environ.get("XCRL_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A 2-layer, hidden-32 XLM-R with its tokenizer, pretrained for a few steps on a generated corpus."""
    from xcrl_cli.config import PretrainConfig
    from xcrl_cli.model.pretrain import pretrain_encoder

    corpus = tmp_path_factory.mktemp("corpus")
    words = ["market", "bank", "vote", "rain", "good", "bad", "runs", "sees", "the", "a", "not", "city"]
    for lang, suffix in [("en", ""), ("de", "en"), ("fr", "e")]:
        lines = [" ".join(words[(i * 7 + j * 3) % len(words)] + suffix for j in range(6)) for i in range(60)]
        (corpus / f"{lang}.txt").write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path_factory.mktemp("encoder") / "enc"
    cfg = PretrainConfig(vocab_size=120, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                         max_length=32, steps=6, batch_size=32)
    pretrain_encoder(corpus, out, cfg)
    return out


@pytest.fixture(scope="session")
def params():
    from xcrl_cli.config import load_params

    return load_params(ROOT / "params.yaml")


def real_dir(name: str) -> Path:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real data samples not found at {path} (../shared/data/real is absent; set XCRL_REAL_DATA)")
    return path


def run_cmd(cmd: list[str], cwd: Path, ok: bool = True, **env: str) -> subprocess.CompletedProcess:
    """Run a command with this interpreter's bin first on PATH; assert success unless `ok` is False."""
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **env}
    done = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True)
    if ok:
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def commit(root: Path, message: str) -> None:
    run_cmd(["git", "add", "-A"], root)
    run_cmd(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], root)


def dvc_project(root: Path, params: dict) -> Path:
    """A git + DVC project at `root` with this repo's library, stages, dvc.yaml and the given params, committed
    (dvclive needs a commit to attach its experiment to)."""
    for name in ("xcrl_cli", "stages"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run_cmd(["git", "init", "-q"], root)
    run_cmd(["dvc", "init", "-q"], root)
    shutil.copy(ROOT / ".dvc" / "config", root / ".dvc" / "config")  # parsing.list = append, which dvc.yaml needs
    commit(root, "tiny project")
    return root


MLDOC_ENGLISH_TRAIN = (
    "CCAT\tb'Germany\\'s minister said\\nprices fell.'\n"
    "GCAT\tb\"It's Caf\\xc3\\xa9 \\\"Zo\\xc3\\xa9\\\" day.\"\n"
    "MCAT\tb''\n"
)


def write_mldoc(root: Path) -> Path:
    """A small MLDoc folder as the MLDoc script writes it, `b'...'` literals (Python 3 quirk) included."""
    root.mkdir(exist_ok=True)
    (root / "english.train.1000").write_text(MLDOC_ENGLISH_TRAIN, encoding="utf-8")
    (root / "english.dev").write_text("ECAT\tTrade gap narrows.\n", encoding="utf-8")
    (root / "english.test").write_text("MCAT\tBonds rally.\n", encoding="utf-8")
    (root / "german.test").write_text("CCAT\t Größere Gewinne für Bäcker.\nGCAT\tb'x' is plain here\n",
                                      encoding="utf-8")
    return root


HUB_LIKE = {"xlmr": ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "bert": ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]}


def hub_like_encoder(kind: str, out: Path, lines: list[str]) -> Path:
    """A stand-in for xlm-roberta-base (`xlmr`) or bert-base-multilingual-cased (`bert`) as `pretrain.init`: the
    Hub's model and tokenizer classes, 2 layers of hidden 32 with random weights, saved as the Hub saves them (the
    masked-LM checkpoint beside its tokenizer), the tokenizer's pieces learnt here on `lines` (no download)."""
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    sizes = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
    if kind == "xlmr":  # a SentencePiece-style Unigram vocabulary, XLM-R's special tokens at ids 0..4
        tok = Tokenizer(models.Unigram())
        tok.normalizer, tok.pre_tokenizer = normalizers.NFKC(), pre_tokenizers.Metaspace()
        tok.train_from_iterator(lines, trainers.UnigramTrainer(vocab_size=600, special_tokens=HUB_LIKE[kind],
                                                               unk_token="<unk>"))
        vocab = [tuple(piece) for piece in json.loads(tok.to_str())["model"]["vocab"]]
        tokenizer = transformers.XLMRobertaTokenizer(vocab=vocab)
        config = transformers.XLMRobertaConfig(vocab_size=len(tokenizer), max_position_embeddings=130,
                                               type_vocab_size=1, pad_token_id=tokenizer.pad_token_id, **sizes)
        model = transformers.XLMRobertaForMaskedLM(config)
    else:  # a cased WordPiece vocabulary; BERT's tokenizer returns segment ids and its model reads two
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=False)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.train_from_iterator(lines, trainers.WordPieceTrainer(vocab_size=600, special_tokens=HUB_LIKE[kind]))
        tokenizer = transformers.BertTokenizer(vocab=tok.get_vocab(), do_lower_case=False)
        config = transformers.BertConfig(vocab_size=len(tokenizer), max_position_embeddings=128, type_vocab_size=2,
                                         pad_token_id=tokenizer.pad_token_id, **sizes)
        model = transformers.BertForMaskedLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


REVIEWS = {"en": [("a fine phone that works well", "5"), ("the screen broke on day one", "1"),
                  ("battery lasts all week long", "5"), ("slow and noisy and cheap", "1")],
           "de": [("ein gutes telefon", "5"), ("der bildschirm ist kaputt", "1")],
           "fr": [("un bon telephone", "5")]}


def write_reviews(root: Path, copies: int = 1) -> dict:
    """A task only params.yaml defines: product reviews in csv files whose columns are not the schema's (uid, body,
    stars, language), two labels written as star counts, a French row outside data.languages, and German
    translations of the English training rows linked by uid; returns its registry entry."""
    root.mkdir(parents=True, exist_ok=True)
    head = "uid,body,stars,language\n"
    train = [(f"r{k}-{i}", text, stars, "en") for k in range(copies) for i, (text, stars) in enumerate(REVIEWS["en"])]
    (root / "train.csv").write_text(head + "".join(f'{u},"{t}",{s},{lang}\n' for u, t, s, lang in train))
    for split in ("dev", "test"):
        rows = [(f"{split}{k}-{i}", text, stars, lang) for k in range(copies) for lang in REVIEWS
                for i, (text, stars) in enumerate(REVIEWS[lang])]
        (root / f"{split}.csv").write_text(head + "".join(f'{u},"{t} {split}",{s},{lang}\n' for u, t, s, lang in rows))
    (root / "translations.csv").write_text("uid,body,language\n" + "".join(
        f'{u},"de: {t}",de\n' for u, t, _, _ in train))
    return {"format": "table", "kind": "single", "labels": ["bad", "good"], "label_values": [1, 5],
            "metric": "macro_f1", "files": {split: str(root / f"{split}.csv") for split in
                                            ("train", "dev", "test", "translations")},
            "columns": {"text": "body", "label": "stars", "lang": "language", "id": "uid"}}
