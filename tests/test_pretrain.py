"""The parallel pretraining corpus, the retrieval metric, and pretraining with the alignment term."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import ROOT, hub_like_encoder

from xcrl_cli.cli import main
from xcrl_cli.data.benchmark import BenchmarkConfig, generate_benchmark, write_benchmark
from xcrl_cli.data.lexicon import get_language
from xcrl_cli.model.pretrain import read_parallel, retrieval_accuracy

SMALL = BenchmarkConfig(seed=5, train_size=8, dev_size=4, test_size=4, corpus_size=40, low_resource_fraction=0.25,
                        parallel_size=2000, retrieval_size=30)


@pytest.fixture(scope="module")
def corpus_parallel() -> dict[str, list[dict]]:
    return generate_benchmark(SMALL).corpus_parallel


def _particle(code: str, text: str) -> int | None:
    """Index of the closing discourse particle of `text` in its language, None when it has none."""
    particles = get_language(code).particles
    last = text.split()[-1]
    return particles.index(last) if last in particles else None


def test_both_sides_close_with_the_same_particle_index(corpus_parallel):
    rows = corpus_parallel["train"] + corpus_parallel["heldout"]
    closing = [(_particle("en", r["source"]), _particle(r["lang"], r["target"])) for r in rows]
    assert all(src == tgt for src, tgt in closing)
    with_particle = sum(src is not None for src, _ in closing)
    assert abs(with_particle / len(rows) - 0.3) < 4 * math.sqrt(0.3 * 0.7 / len(rows))  # as in the corpus
    assert {src for src, _ in closing} == {None, 0, 1, 2, 3}


def test_target_languages_follow_their_corpus_sizes(corpus_parallel):
    """High-resource targets weigh 1, low-resource ones low_resource_fraction = 0.25: p = 1/2.75 and 0.25/2.75."""
    counts = Counter(r["lang"] for r in corpus_parallel["train"])
    n = SMALL.parallel_size
    assert sum(counts.values()) == n and "en" not in counts
    for lang in ("de", "fr", "ar", "hi", "sw"):
        p = (1.0 if lang in ("de", "fr") else 0.25) / 2.75
        assert abs(counts[lang] / n - p) < 4 * math.sqrt(p * (1 - p) / n), (lang, counts)


def test_heldout_is_disjoint_from_train_and_unambiguous(corpus_parallel):
    train, heldout = corpus_parallel["train"], corpus_parallel["heldout"]
    targets = ("de", "fr", "ar", "hi", "sw")
    assert Counter(r["lang"] for r in heldout) == {lang: SMALL.retrieval_size for lang in targets}
    assert not {r["id"] for r in train} & {r["id"] for r in heldout}

    def clause(code: str, text: str) -> str:
        return text.rsplit(" ", 1)[0] if _particle(code, text) is not None else text

    seen = {clause("en", r["source"]) for r in train}
    assert not seen & {clause("en", r["source"]) for r in heldout}
    for lang in ("de", "hi"):
        rows = [r for r in heldout if r["lang"] == lang]
        assert len({clause("en", r["source"]) for r in rows}) == len({clause(lang, r["target"]) for r in rows}) == 30


def test_parallel_corpus_is_written_beside_the_monolingual_one(tmp_path):
    cfg = BenchmarkConfig(languages=("en", "de"), low_resource=(), corpus_size=10, train_size=4, dev_size=2,
                          test_size=2, parallel_size=12, retrieval_size=5)
    bench = generate_benchmark(cfg)
    write_benchmark(bench, tmp_path / "raw")
    corpus = tmp_path / "raw" / "corpus"
    assert sorted(p.name for p in corpus.iterdir()) == ["de.txt", "en.txt", "parallel"]
    assert read_parallel(corpus, "train") == bench.corpus_parallel["train"]
    assert [r["id"] for r in read_parallel(corpus, "heldout")] == [f"parallel-heldout-de-{i:05d}" for i in range(5)]
    assert read_parallel(tmp_path, "train") == []  # no parallel part: masked LM only


def test_retrieval_accuracy_against_a_hand_computation():
    """Angles: sources 0°, 90°, 45°; targets 45°, 90°, ~2° (norms 1.4, 2, 3). By cosine s0 -> t2 (wrong), s1 -> t1
    (right), s2 -> t0 (wrong): 1/3. A dot product would send s2 to the long t2 and score 2/3."""
    source = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    target = np.array([[1.0, 1.0], [0.0, 2.0], [3.0, 0.1]])
    assert retrieval_accuracy(source, target) == pytest.approx(1 / 3)
    assert np.mean((source @ target.T).argmax(1) == np.arange(3)) == pytest.approx(2 / 3)
    assert retrieval_accuracy(target, target) == 1.0
    tied = np.array([[1.0, 0.0], [2.0, 0.0]])
    assert retrieval_accuracy(tied, tied) == 0.5  # a tie goes to the lower index


def _pretrain(tmp_path: Path, corpus: Path, name: str, **pretrain) -> tuple[dict, str]:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["pretrain"].update({"vocab_size": 400, "hidden_size": 32, "intermediate_size": 64, "num_layers": 2,
                               "max_length": 32, "steps": 60, "batch_size": 16, "lr": 0.003, **pretrain})
    params["train"]["max_length"] = 32
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(params))
    metrics = tmp_path / f"{name}.json"
    result = CliRunner().invoke(main, ["pretrain", "--params", str(path), "--corpus", str(corpus),
                                       "--out", str(tmp_path / name), "--metrics", str(metrics)])
    assert result.exit_code == 0, result.output
    return json.loads(metrics.read_text()), result.output


@pytest.fixture(scope="module")
def tiny_parallel(tmp_path_factory) -> Path:
    cfg = BenchmarkConfig(languages=("en", "hi"), low_resource=(), corpus_size=100, train_size=4, dev_size=2,
                          test_size=2, parallel_size=600, retrieval_size=40)
    out = tmp_path_factory.mktemp("tiny") / "raw"
    write_benchmark(generate_benchmark(cfg), out)
    return out / "corpus"


def test_pretrain_writes_retrieval_and_the_alignment_term_makes_it_work(tiny_parallel, tmp_path):
    """Hindi shares almost no piece with English: masked LM alone retrieves about as chance does (1/40), the
    InfoNCE term lifts it far above."""
    aligned, output = _pretrain(tmp_path, tiny_parallel, "aligned")
    plain, _ = _pretrain(tmp_path, tiny_parallel, "plain", align_weight=0.0)
    print(f"retrieval hi: aligned {aligned['retrieval']}, masked LM only {plain['retrieval']}")
    assert aligned["retrieval_size"] == {"hi": 40} and aligned["pairs"] == 600 and aligned["steps"] == 60
    assert aligned["align_loss_last"] < aligned["align_loss_first"]
    assert aligned["mlm_loss_last"] < aligned["mlm_loss_first"]
    assert aligned["retrieval"]["hi"] >= 0.3 > plain["retrieval"]["hi"] + 0.15
    assert "hi" in output and "chance" in output


def test_pretraining_in_length_groups_masks_and_aligns_as_one_padded_tensor_does(tiny_parallel, tmp_path):
    """`pretrain.encode_chunks: 3`: the masked positions and the pooled sides come back in place, so the same recipe
    learns masked LM and aligns Hindi far above the 1/40 of chance (the same bar as one tensor above)."""
    grouped, _ = _pretrain(tmp_path, tiny_parallel, "grouped", encode_chunks=3)
    assert grouped["mlm_loss_last"] < grouped["mlm_loss_first"]
    assert grouped["align_loss_last"] < grouped["align_loss_first"]
    assert grouped["retrieval"]["hi"] >= 0.3


def test_a_joined_pair_is_the_tokenizer_s_own_pair_encoding_cut_with_its_closing_separator(tiny_parallel):
    from xcrl_cli.model.pretrain import join_pair, read_corpus, train_tokenizer

    tokenizer = train_tokenizer(read_corpus(tiny_parallel), 400, 512)
    row = read_parallel(tiny_parallel, "train")[0]
    first, second = (tokenizer(row[side])["input_ids"] for side in ("source", "target"))
    assert join_pair(first, second, 512) == tokenizer(row["source"], row["target"])["input_ids"]
    cut = join_pair(first, second, len(first) + 3)
    assert cut == first + [tokenizer.eos_token_id, second[1], tokenizer.eos_token_id]


def test_translation_language_modelling_is_trained_and_reported_only_when_weighted(tiny_parallel, tmp_path):
    joined, output = _pretrain(tmp_path, tiny_parallel, "tlm", tlm_weight=1.0)
    apart, _ = _pretrain(tmp_path, tiny_parallel, "apart", tlm_weight=0.0)
    assert joined["tlm_loss_last"] < joined["tlm_loss_first"] and "TLM" in output
    assert "tlm_loss_first" not in apart
    weights = [(tmp_path / name / "model.safetensors").read_bytes() for name in ("tlm", "apart")]
    assert weights[0] != weights[1]


def test_pretrain_without_a_parallel_corpus_is_masked_lm_only(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "en.txt").write_text("\n".join(f"the market {w} today" for w in ("rose", "fell", "held") * 20))
    metrics, output = _pretrain(tmp_path, corpus, "mono", steps=5)
    assert metrics["retrieval"] == {} and metrics["pairs"] == 0 and "align_loss_first" not in metrics
    assert "not measured" in output


def test_two_runs_write_the_same_bytes(tiny_parallel, tmp_path):
    from xcrl_cli.config import PretrainConfig
    from xcrl_cli.model.pretrain import pretrain_encoder

    cfg = PretrainConfig(vocab_size=400, hidden_size=32, intermediate_size=64, max_length=32, steps=10,
                         batch_size=16, corpus_batch_size=8)
    runs = [pretrain_encoder(tiny_parallel, tmp_path / name, cfg) for name in ("a", "b")]
    assert runs[0] == runs[1]
    for name in ("model.safetensors", "tokenizer.json", "pretrain_summary.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_snapshot_encoder_saves_a_hub_encoder_s_base_model_and_scores_its_retrieval(tmp_path, capfd):
    """`pretrain.init` other than scratch: the encoder (here a tiny stand-in for xlm-roberta-base) and its tokenizer
    saved locally, scored on held-out pairs, without transformers' report of the masked-LM head it leaves behind."""
    from transformers import AutoTokenizer

    from xcrl_cli.model.pretrain import snapshot_encoder

    pairs = [("the cat sleeps", "die Katze schläft"), ("a dog runs", "ein Hund läuft"),
             ("rain falls", "Regen fällt")]
    init = hub_like_encoder("xlmr", tmp_path / "hub", [side for pair in pairs for side in pair] * 5)
    heldout = [{"lang": "de", "source": s, "target": t} for s, t in pairs]
    summary = snapshot_encoder(str(init), tmp_path / "encoder", heldout, max_length=32)
    assert summary["init"] == str(init) and summary["retrieval_size"] == {"de": 3}
    assert 0.0 <= summary["retrieval"]["de"] <= 1.0
    assert json.loads((tmp_path / "encoder" / "pretrain_summary.json").read_text()) == summary
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "encoder")
    assert tokenizer("a dog runs")["input_ids"] == AutoTokenizer.from_pretrained(init)("a dog runs")["input_ids"]
    assert "LOAD REPORT" not in capfd.readouterr().err
