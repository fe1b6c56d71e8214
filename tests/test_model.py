"""The model, the gradient-reversal layer, and every variant in params.yaml taking an optimisation step."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from conftest import ROOT
from torch import nn

from xcrl_cli.config import ModelConfig, Variant, load_params
from xcrl_cli.model.adversary import grl_coefficient, reverse_grad
from xcrl_cli.model.gate import CausalGate
from xcrl_cli.model.losses import Segments, needed_segments, total_loss
from xcrl_cli.model.model import XcrlModel, build_model, hidden_states
from xcrl_cli.training.batches import Batch, TrainSet, encode, train_batch

VARIANTS = list(load_params(ROOT / "params.yaml").variants)


def test_reverse_grad_is_identity_forward_and_flips_the_gradient():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = reverse_grad(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_grl_schedule_ramps_from_zero_to_one():
    assert grl_coefficient(0.0, "dann", 10.0) == pytest.approx(0.0)
    assert grl_coefficient(1.0, "dann", 10.0) == pytest.approx(0.9999, abs=1e-3)
    assert grl_coefficient(0.3, "constant", 10.0) == 1.0


def test_causal_gate_is_sigmoid_weighted_input():
    gate = CausalGate(2)
    with torch.no_grad():
        gate.proj.weight.zero_()
        gate.proj.bias.copy_(torch.tensor([0.0, 100.0]))
    assert torch.allclose(gate(torch.tensor([[4.0, 3.0]])), torch.tensor([[2.0, 3.0]]))


def test_open_gate_passes_sigma_of_the_bias_times_its_input_at_step_0(params, tiny_encoder):
    x = torch.tensor([[4.0, -3.0, 0.5], [1.0, 2.0, -8.0]])
    assert torch.allclose(CausalGate(3, "open", 3.0)(x), x / (1 + math.exp(-3.0)))
    model = build_model(params.model, params.variant("proposed"), 3, 3, encoder_path=str(tiny_encoder))
    assert params.model.gate_init == "open" and params.model.gate_bias == 3.0
    assert not model.gate.proj.weight.any() and torch.all(model.gate.proj.bias == 3.0)
    torch.manual_seed(0)
    literal = CausalGate(64, "default").weights(torch.randn(256, 64))  # nn.Linear's init: half open on average
    assert literal.mean().item() == pytest.approx(0.5, abs=0.05)


def test_wo_disentangle_keeps_the_heads_and_the_gate_with_their_constraints_off(params, tiny_encoder):
    """Unlike Causal Representation (gate over h, no D), it is Proposed with λ1 = λ2 = λ3 = 0."""
    ablation, proposed, causal = (params.variant(v) for v in ("wo_disentangle", "proposed", "causal"))
    assert ablation.disentangle and ablation.gate and ablation != causal
    assert ablation.weights == {**proposed.weights, "sem": 0.0, "orth": 0.0, "adv": 0.0}
    model = build_model(params.model, ablation, 3, 3, encoder_path=str(tiny_encoder))
    assert model.disentangler.spe is None and model.discriminator is None  # z_spe only exists to be made orthogonal
    assert model.gate.proj.in_features == params.model.inv_dim + params.model.task_dim


def _batch(tiny_encoder, segments: frozenset[str], anchored: bool = False, chunks: int = 1) -> Batch:
    """A real training batch from `train_batch`; `anchored` gives the pairs parallel-corpus source sides."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder)
    lang_index = {"en": 0, "de": 1, "fr": 2}
    rows = [{"id": str(i), "lang": "en", "text": t} for i, t in
            enumerate(["the market runs", "the bank sees not", "a good vote", "bad rain city"])]
    pairs = [{"lang": "de", "text": t} for t in ["marketen runsen", "banken seesen", "gooden voteen", "baden rainen"]]
    anchors = [{"lang": "en", "text": t} for t in ["a city runs", "the rain sees", "not the vote", "good bank"]]
    cfs = [{"lang": "fr", "text": t} for t in ["marke the runs", "not the bank sees", "A good vote.", "bad rain"]]
    data = TrainSet(src=encode(tok, rows, lang_index, 32), pair=encode(tok, pairs, lang_index, 32),
                    cf=encode(tok, cfs, lang_index, 32), labels=torch.tensor([0, 1, 2, 0]), ids=[r["id"] for r in rows],
                    anchor=encode(tok, anchors, lang_index, 32) if anchored else None)
    return train_batch(data, [0, 1, 2, 3], segments, tok.pad_token_id, chunks)


def test_a_batch_encoded_in_length_chunks_gives_each_row_the_same_output_and_gradients(params, tiny_encoder):
    """`train.encode_chunks`: the rows sorted by length, cut into groups, each group padded only to its own longest;
    every row comes back in its place with the h, logits and gradients of the one padded tensor."""
    whole = _batch(tiny_encoder, frozenset({"pair", "cf"}), anchored=True)
    chunked = _batch(tiny_encoder, frozenset({"pair", "cf"}), anchored=True, chunks=3)
    assert whole.chunks is None and len(chunked.chunks) == 3
    lengths = whole.attention_mask.sum(1)
    rows = torch.cat([index for index, _ in chunked.chunks])
    assert sorted(rows.tolist()) == list(range(16)) and lengths[rows].tolist() == sorted(lengths.tolist())
    widths = [width for _, width in chunked.chunks]
    assert widths == [int(lengths[index].max()) for index, _ in chunked.chunks]
    assert widths[0] < widths[-1] == whole.input_ids.shape[1]  # the short groups are cut, so the check bites
    variant = params.variant("proposed")
    torch.manual_seed(0)
    model = build_model(params.model, variant, n_labels=3, n_languages=3, encoder_path=str(tiny_encoder)).eval()
    outputs, grads = [], []
    for batch in (whole, chunked):
        model.zero_grad()
        out = model(batch.input_ids, batch.attention_mask, grl_coeff=0.5, chunks=batch.chunks)
        total_loss(variant, out, batch.segments, params.model)[0].backward()
        outputs.append(out)
        grads.append(torch.cat([p.grad.flatten() for p in model.encoder.parameters() if p.grad is not None]))
    with torch.no_grad():  # every real token's state (what pretraining's masked LM reads), not only the pooled h
        states = [hidden_states(model.encoder, whole.input_ids, whole.attention_mask, chunks)
                  for chunks in (None, chunked.chunks)]
    real = whole.attention_mask.bool()
    assert torch.allclose(states[0][real], states[1][real], atol=1e-5)
    assert torch.allclose(outputs[0].h, outputs[1].h, atol=1e-5)
    assert torch.allclose(outputs[0].logits, outputs[1].logits, atol=1e-5)
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


def test_anchored_batch_puts_the_pairs_source_sides_between_sources_and_pairs(tiny_encoder):
    batch = _batch(tiny_encoder, frozenset({"pair", "cf"}), anchored=True)
    seg = batch.segments
    assert (batch.n_src, batch.n_anchor, batch.n_pair, batch.n_cf) == (4, 4, 4, 4)
    assert seg.lang_ids[seg.anchor].tolist() == [0] * 4 and seg.lang_ids[seg.pair].tolist() == [1] * 4
    assert seg.lang_ids[seg.cf].tolist() == [2] * 4
    assert _batch(tiny_encoder, frozenset({"cf"}), anchored=True).n_anchor == 0  # no pair term, no anchors encoded


@pytest.mark.parametrize("anchored", [False, True], ids=["translations", "parallel-corpus"])
@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_builds_and_takes_an_optimisation_step(name, anchored, params, tiny_encoder):
    variant = params.variant(name)
    torch.manual_seed(0)
    model = build_model(params.model, variant, n_labels=3, n_languages=3, encoder_path=str(tiny_encoder))
    assert (model.disentangler is not None) == variant.disentangle
    assert (model.discriminator is not None) == (variant.weight("adv") > 0)
    segments = needed_segments(variant)
    batch = _batch(tiny_encoder, segments, anchored)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    before = {k: v.clone() for k, v in model.named_parameters()}
    out = model(batch.input_ids, batch.attention_mask, grl_coeff=0.5)
    seg = batch.segments
    loss, terms = total_loss(variant, out, seg, params.model)
    assert set(terms) == set(variant.active_terms) and torch.isfinite(loss)
    loss.backward()
    unused = [k for k, p in model.named_parameters() if p.grad is None]
    assert not unused, f"parameters with no gradient (would break DDP): {unused}"
    optimizer.step()
    assert any(not torch.equal(before[k], v) for k, v in model.named_parameters() if k.startswith("encoder"))


@pytest.mark.parametrize("name", VARIANTS)
def test_gate_openness_averages_the_gate_s_weights_over_each_space_forward_gates(name, params, tiny_encoder):
    """z_inv and z_task with D, h without, nothing without a gate; the input it reads is the one forward gated."""
    variant = params.variant(name)
    torch.manual_seed(0)
    model = build_model(params.model, variant, n_labels=3, n_languages=3, encoder_path=str(tiny_encoder)).eval()
    if variant.gate:
        nn.init.normal_(model.gate.proj.weight)  # not the open init's constant σ(3)
    batch = _batch(tiny_encoder, frozenset())
    with torch.no_grad():
        out = model(batch.input_ids, batch.attention_mask)
    openness = model.gate_openness(out.spaces())
    spaces = (("z_inv", "z_task") if variant.disentangle else ("h",)) if variant.gate else ()
    assert tuple(openness) == spaces
    if variant.gate:
        x = model.causal_input(out.spaces())
        weights = model.gate.weights(x)
        assert torch.allclose(weights * x, out.r)
        first = params.model.inv_dim if variant.disentangle else x.shape[1]
        assert torch.allclose(next(iter(openness.values())), weights[:, :first].mean(-1))
        assert all(v.shape == (4,) and 0 < v.min() and v.max() < 1 for v in openness.values())


def test_adversarial_gradient_reaching_the_encoder_is_reversed(params, tiny_encoder):
    """The discriminator descends its loss; the encoder receives exactly the negated (coeff-scaled) gradient."""
    variant = params.variant("disentangle")
    torch.manual_seed(0)
    model = build_model(params.model, variant, n_labels=3, n_languages=3, encoder_path=str(tiny_encoder))
    batch = _batch(tiny_encoder, frozenset({"pair"}))
    seg = batch.segments

    def encoder_grad(through_grl: bool) -> torch.Tensor:
        model.zero_grad()
        out = model(batch.input_ids, batch.attention_mask, grl_coeff=1.0)
        logits = out.lang_logits if through_grl else model.discriminator.net(out.z_inv)
        torch.nn.functional.cross_entropy(logits, seg.lang_ids).backward()
        disc = model.discriminator.net[0].weight.grad.clone()
        return model.encoder.embeddings.word_embeddings.weight.grad.clone(), disc

    enc_rev, disc_rev = encoder_grad(True)
    enc_plain, disc_plain = encoder_grad(False)
    assert enc_plain.abs().sum() > 0
    assert torch.allclose(enc_rev, -enc_plain, atol=1e-6)
    assert torch.allclose(disc_rev, disc_plain, atol=1e-6)


def test_model_config_rejects_unequal_dims_for_per_sample_orthogonality():
    import yaml

    from xcrl_cli.config import ConfigError, parse_params

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["model"]["spe_dim"] = 32
    with pytest.raises(ConfigError, match="orth_mode 'per_sample' needs equal"):
        parse_params(raw)
    raw["model"]["orth_mode"] = "batch"
    assert parse_params(raw).model.spe_dim == 32


class _FeatureEncoder(nn.Module):
    """A stand-in for E: sequence i is the fixed feature vector feats[i] through one trainable linear layer."""

    def __init__(self, feats: torch.Tensor, hidden: int):
        super().__init__()
        self.register_buffer("feats", feats)
        self.proj = nn.Linear(feats.shape[1], hidden)
        self.config = SimpleNamespace(hidden_size=hidden)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(last_hidden_state=self.proj(self.feats[input_ids]))  # (N, 1, hidden)


def _mean_gate_after_training(opts: ModelConfig, steps: int = 300, n: int = 512, batch: int = 32) -> float:
    """Trains Proposed with λ1 = α = γ = 1 on a toy where features are meaning ⊕ a language vector (label = sign of
    the first meaning coordinate; pairs in two target languages; counterfactuals half-way between), and returns the
    gate's mean weight σ(W_c [z_inv; z_task] + b_c) over the source examples."""
    g = torch.Generator().manual_seed(0)
    meaning = torch.randn(n, 8, generator=g)
    labels = (meaning[:, 0] > 0).long()
    lang_vec = 2.0 * torch.randn(3, 8, generator=g)
    pair_lang = torch.randint(1, 3, (n,), generator=g)
    src, pair = (torch.cat([meaning, lang_vec[lang]], 1) + 0.3 * torch.randn(n, 16, generator=g)
                 for lang in (torch.zeros(n, dtype=torch.long), pair_lang))
    weights = {"task": 1.0, "sem": 1.0, "orth": 0.1, "adv": 0.1, "inv": 1.0, "cf": 0.1, "align": 1.0}
    variant = Variant(disentangle=True, gate=True, weights=weights)
    torch.manual_seed(0)
    model = XcrlModel(_FeatureEncoder(torch.cat([src, pair, (src + pair) / 2]), 32), opts, variant, 2, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for _ in range(steps):
        idx = torch.randint(0, n, (batch,), generator=g)
        ids = torch.cat([idx, idx + n, idx + 2 * n]).unsqueeze(1)  # (3B, 1): sources, pairs, counterfactuals
        langs = torch.cat([torch.zeros(batch, dtype=torch.long), pair_lang[idx], pair_lang[idx]])
        out = model(ids, torch.ones_like(ids), grl_coeff=0.5)
        loss, _ = total_loss(variant, out, Segments(labels[idx], langs, batch, batch, batch), opts)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    with torch.no_grad():
        out = model(torch.arange(n).unsqueeze(1), torch.ones(n, 1, dtype=torch.long))
        return model.gate.weights(torch.cat([out.z_inv, out.z_task], -1)).mean().item()


@pytest.fixture
def one_thread():
    """Matrices this small run fastest on one thread; more only wait on each other when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_literal_reading_closes_the_gate_and_the_default_keeps_it_open(one_thread):
    dims = {"inv_dim": 16, "spe_dim": 16, "task_dim": 16, "head_hidden": 32, "align_min_per_lang": 2}
    literal = _mean_gate_after_training(
        ModelConfig(**dims, gate_init="default", distance="squared", align_mode="coral_literal"))
    default = _mean_gate_after_training(ModelConfig(**dims))
    assert literal < 0.5 < default, (literal, default)


def test_sentence_pair_segment_ids_reach_a_bert_encoder(tmp_path, params):
    """mBERT reads which tokens are the premise and which the hypothesis: the segment ids of the tokenizer must
    travel through the stored columns, the batch and the model into the encoder."""
    import datasets
    from transformers import BertConfig, BertModel, BertTokenizer

    from xcrl_cli.training.batches import eval_batches
    from xcrl_cli.training.inference import infer
    from xcrl_cli.training.tokens import column

    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat",
                                                    "a", "dog", "ran"]) + "\n")
    tokenizer = BertTokenizer(str(tmp_path / "vocab.txt"))
    rows = [{"text": "the cat", "text_pair": "a dog ran", "lang": "en"},
            {"text": "a dog", "text_pair": "the cat sat", "lang": "de"}]
    enc = encode(tokenizer, rows, {"en": 0, "de": 1}, 32)
    stored = datasets.Dataset.from_dict({"input_ids": [list(enc[i]) for i in range(2)],
                                         "token_type_ids": [list(enc.types_of(i)) for i in range(2)],
                                         "lang": ["en", "de"]})
    enc = column(stored, "input_ids", {"en": 0, "de": 1}, "lang")
    assert enc.types_of(0).tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    data = TrainSet(src=enc, pair=enc, cf=enc, labels=torch.tensor([0, 1]), ids=["a", "b"])
    batch = train_batch(data, [0, 1], frozenset({"pair", "cf"}), pad_id=0)
    assert batch.token_type_ids.shape == batch.input_ids.shape and batch.token_type_ids.sum() == 3 * (4 + 4)  # "a dog ran [SEP]", "the cat sat [SEP]"

    encoder = BertModel(BertConfig(vocab_size=11, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                   intermediate_size=16, max_position_embeddings=32), add_pooling_layer=False)
    seen = []
    encoder.embeddings.register_forward_hook(lambda m, args, kwargs, out: seen.append(kwargs.get("token_type_ids")),
                                             with_kwargs=True)
    model = XcrlModel(encoder, params.model, params.variant("erm"), n_labels=2, n_languages=2)
    model(batch.input_ids, batch.attention_mask, token_type_ids=batch.token_type_ids)
    infer(model, enc, batch_size=2, pad_id=0)
    assert torch.equal(seen[0], batch.token_type_ids)
    assert torch.equal(seen[1], next(eval_batches(enc, 2, 0))[3]) and seen[1].sum() == 8


def test_encoder_dropout_replaces_the_encoders_own_and_none_keeps_it(params, tiny_encoder):
    from dataclasses import replace

    own, off = (build_model(replace(params.model, encoder_dropout=rate), params.variant("erm"), 3, 3,
                            encoder_path=str(tiny_encoder)) for rate in (None, 0.0))

    def rates(model) -> set[float]:
        return {m.p for m in model.encoder.modules() if isinstance(m, torch.nn.Dropout)}

    assert rates(own) == {0.1}  # the pretrained config's
    assert rates(off) == {0.0} and off.encoder.config.attention_probs_dropout_prob == 0.0
    torch.manual_seed(0)
    ids = torch.tensor([[0, 5, 6, 7, 2]])
    mask = torch.ones_like(ids)
    for model in (own, off):
        model.train()
    first, second = (off(ids, mask).h for _ in range(2))
    assert torch.equal(first, second)  # no mask is drawn in the encoder (the heads' own dropout is model.dropout)
    assert not torch.equal(own(ids, mask).h, own(ids, mask).h)
