"""The model, the gradient-reversal layer, and every variant in params.yaml taking an optimisation step."""

from __future__ import annotations

import pytest
import torch
from conftest import ROOT

from xcrl_cli.adversary import grl_coefficient, reverse_grad
from xcrl_cli.batches import Batch, TrainSet, encode, train_batch
from xcrl_cli.config import load_params
from xcrl_cli.gate import CausalGate
from xcrl_cli.losses import needed_segments, total_loss
from xcrl_cli.model import build_model

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


def _batch(tiny_encoder, segments: frozenset[str], anchored: bool = False) -> Batch:
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
    return train_batch(data, [0, 1, 2, 3], segments, tok.pad_token_id)


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
