"""Each loss term on a tiny hand-computed case (formulas 2 and 4)."""

from __future__ import annotations

import math

import pytest
import torch

from xcrl_cli.config import ModelConfig
from xcrl_cli.losses import (
    LOSSES,
    Segments,
    adv_loss,
    align_loss,
    cf_loss,
    contrastive_loss,
    inv_loss,
    orth_loss,
    sem_loss,
    task_loss,
)
from xcrl_cli.model import ModelOutput

OPTS = ModelConfig(orth_mode="per_sample", align_mode="coral", temperature=1.0)


def out_of(**tensors) -> ModelOutput:
    n = next(iter(tensors.values())).shape[0]
    base = {"h": torch.zeros(n, 2), "r": torch.zeros(n, 2), "logits": torch.zeros(n, 2)}
    return ModelOutput(**{**base, **tensors})


def seg(n_src=1, n_pair=1, n_cf=0, labels=(0,), langs=(0, 1)) -> Segments:
    return Segments(torch.tensor(labels), torch.tensor(langs), n_src, n_pair, n_cf)


def test_task_is_cross_entropy_on_source_rows_only():
    logits = torch.tensor([[2.0, 0.0], [0.0, 50.0]])  # second row is a pair: must not enter L_task
    value = task_loss(out_of(logits=logits), seg(labels=(0,)), OPTS)
    assert value.item() == pytest.approx(-math.log(math.exp(2) / (math.exp(2) + 1)))


def test_sem_is_squared_distance_of_z_inv_over_pairs():
    z = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # src 0,1; pairs 2,3
    value = sem_loss(out_of(z_inv=z), seg(2, 2, labels=(0, 0), langs=(0, 0, 1, 1)), OPTS)
    assert value.item() == pytest.approx((2.0 + 5.0) / 2)


def test_inv_is_squared_distance_of_r_over_pairs():
    r = torch.tensor([[1.0, 2.0], [1.0, 0.0]])
    assert inv_loss(out_of(r=r), seg(), OPTS).item() == pytest.approx(4.0)


def test_orth_per_sample_is_squared_cosine_summed_over_the_three_pairs():
    inv, spe, task = torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 2.0]])
    value = orth_loss(out_of(z_inv=inv, z_spe=spe, z_task=task), seg(1, 0, langs=(0,)), OPTS)
    assert value.item() == pytest.approx(0.5 + 0.0 + 0.5)


def test_orth_batch_is_frobenius_norm_of_cross_correlation():
    a = torch.tensor([[1.0], [-1.0]])
    b = torch.tensor([[2.0], [-2.0]])  # perfectly correlated with a: |C|^2 = 1 per pair involving a, b
    c = torch.tensor([[5.0], [5.0]])  # constant: zero after centring
    opts = ModelConfig(orth_mode="batch")
    value = orth_loss(out_of(z_inv=a, z_spe=b, z_task=c), seg(2, 0, labels=(0, 0), langs=(0, 0)), opts)
    assert value.item() == pytest.approx(1.0)


def test_adv_is_language_cross_entropy_over_every_sequence():
    lang_logits = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    value = adv_loss(out_of(lang_logits=lang_logits), seg(), OPTS)
    assert value.item() == pytest.approx(math.log(2))


def test_cf_is_squared_distance_of_predicted_distributions():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # softmax: (.5,.5) and (.75,.25)
    value = cf_loss(out_of(logits=logits), seg(1, 0, 1, langs=(0, 0)), OPTS)
    assert value.item() == pytest.approx(2 * 0.25**2)


def test_contrastive_is_symmetric_infonce():
    r = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # aligned pairs, orthogonal negatives
    value = contrastive_loss(out_of(r=r), seg(2, 2, labels=(0, 1), langs=(0, 0, 1, 1)), OPTS)
    assert value.item() == pytest.approx(-math.log(math.e / (math.e + 1)))


def test_coral_matches_mean_and_covariance_difference():
    r = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 1.0], [1.0, 3.0]])  # en rows 0,1; de rows 2,3
    value = align_loss(out_of(r=r), seg(2, 2, labels=(0, 0), langs=(0, 0, 1, 1)), OPTS)
    # means (1,0) vs (1,2): 4. covariances diag(2,0) vs diag(0,2): |diff|_F^2 = 8, / (4*2*2) = 0.5
    assert value.item() == pytest.approx(4.5)


def test_mmd_is_zero_for_identical_sets_and_positive_otherwise():
    opts = ModelConfig(align_mode="mmd")
    same = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    apart = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]])
    s = seg(2, 2, labels=(0, 0), langs=(0, 0, 1, 1))
    assert align_loss(out_of(r=same), s, opts).item() == pytest.approx(0.0, abs=1e-6)
    assert align_loss(out_of(r=apart), s, opts).item() > 0.5


def test_registry_declares_the_segments_each_term_needs():
    assert LOSSES["task"].needs == frozenset()
    assert LOSSES["cf"].needs == {"cf"}
    assert {"pair"} <= LOSSES["inv"].needs and {"pair"} <= LOSSES["sem"].needs


def test_pair_terms_compare_anchor_and_pair_when_a_parallel_corpus_supplies_the_anchor():
    """[x (labelled), anchor a, pair b]: L_sem and L_inv measure ‖a − b‖², never ‖x − b‖²."""
    z = torch.tensor([[9.0, 9.0], [1.0, 0.0], [1.0, 2.0]])
    s = Segments(torch.tensor([0]), torch.tensor([0, 0, 1]), n_src=1, n_pair=1, n_anchor=1)
    assert sem_loss(out_of(z_inv=z), s, OPTS).item() == pytest.approx(4.0)
    assert inv_loss(out_of(r=z), s, OPTS).item() == pytest.approx(4.0)
