"""Each loss term on a tiny hand-computed case (formulas 2 and 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from xcrl_cli.config import ALIGN_MODES, ModelConfig
from xcrl_cli.model.losses import (
    ALIGN_DISTANCES,
    LOSSES,
    Segments,
    adv_loss,
    align_groups,
    align_loss,
    cf_loss,
    contrastive_loss,
    inv_loss,
    orth_loss,
    sem_loss,
    task_loss,
)
from xcrl_cli.model.model import ModelOutput

OPTS = ModelConfig(orth_mode="per_sample", align_mode="coral", temperature=1.0)
LITERAL = ModelConfig(distance="squared", align_mode="coral_literal", align_min_per_lang=2)


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
    value = sem_loss(out_of(z_inv=z), seg(2, 2, labels=(0, 0), langs=(0, 0, 1, 1)), LITERAL)
    assert value.item() == pytest.approx((2.0 + 5.0) / 2)


def test_inv_is_squared_distance_of_r_over_pairs():
    r = torch.tensor([[1.0, 2.0], [1.0, 0.0]])
    assert inv_loss(out_of(r=r), seg(), LITERAL).item() == pytest.approx(4.0)


@pytest.mark.parametrize("term", [sem_loss, inv_loss], ids=["sem", "inv"])
def test_normalized_distance_is_2_minus_2_cos_and_unchanged_by_shrinking(term):
    """(3, 0) against (1, 1): cos = 1/√2, so ‖â − b̂‖² = 2 − √2 at any scale; the squared form falls as c²."""
    z = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    s = seg()
    for c in (1.0, 0.01):
        out = out_of(z_inv=c * z, r=c * z)
        assert term(out, s, OPTS).item() == pytest.approx(2 - math.sqrt(2), rel=1e-5)
        assert term(out, s, LITERAL).item() == pytest.approx(c * c * (4 + 1), rel=1e-5)


def test_orth_per_sample_is_the_mean_over_samples_of_squared_cosines_summed_over_the_three_pairs():
    """Two samples of unequal norms, every pair non-orthogonal in some sample. Sample 1: cos² (inv, spe) = 1/2,
    (inv, task) = 1/5, (spe, task) = 9/10; sample 2: 1/2, 16/25, 1/50. Means 1/2, 21/50, 23/50: 69/50 in all."""
    inv = torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    spe = torch.tensor([[1.0, 1.0], [1.0, -1.0]])
    task = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    value = orth_loss(out_of(z_inv=inv, z_spe=spe, z_task=task), seg(2, 0, labels=(0, 0), langs=(0, 0)), OPTS)
    assert value.item() == pytest.approx(69 / 50)


def test_orth_batch_is_frobenius_norm_of_cross_correlation():
    a = torch.tensor([[1.0], [-1.0]])
    b = torch.tensor([[2.0], [-2.0]])  # perfectly correlated with a: |C|^2 = 1 per pair involving a, b
    c = torch.tensor([[5.0], [5.0]])  # constant: zero after centring
    opts = ModelConfig(orth_mode="batch")
    value = orth_loss(out_of(z_inv=a, z_spe=b, z_task=c), seg(2, 0, labels=(0, 0), langs=(0, 0)), opts)
    assert value.item() == pytest.approx(1.0)


def test_orth_batch_centres_and_scales_each_column_of_uncentred_subspaces():
    """Columns with offsets and unequal scales: Â, B̂ centred and unit-norm per column, ‖ÂᵀB̂‖_F² per pair."""
    rng = np.random.default_rng(4)
    z = [rng.normal(size=(5, 3)) * [1.0, 3.0, 0.5] + [2.0, -1.0, 4.0] for _ in range(3)]

    def hand(a: np.ndarray, b: np.ndarray) -> float:
        a, b = a - a.mean(0), b - b.mean(0)
        a, b = a / np.linalg.norm(a, axis=0), b / np.linalg.norm(b, axis=0)
        return float(((a.T @ b) ** 2).sum())

    out = out_of(**{k: torch.tensor(v) for k, v in zip(("z_inv", "z_spe", "z_task"), z)})
    value = orth_loss(out, seg(5, 0, labels=(0,) * 5, langs=(0,) * 5), ModelConfig(orth_mode="batch"))
    assert value.item() == pytest.approx(hand(z[0], z[1]) + hand(z[0], z[2]) + hand(z[1], z[2]), rel=1e-9)


def test_adv_is_language_cross_entropy_over_sources_and_pairs():
    """Source (language 0) logits (2, −1): −log σ(3); pair (language 1) logits (0.5, 1.5): −log σ(1); the
    counterfactual row is not language-labelled and stays out."""
    lang_logits = torch.tensor([[2.0, -1.0], [0.5, 1.5], [9.0, -9.0]])
    value = adv_loss(out_of(lang_logits=lang_logits), seg(1, 1, 1, langs=(0, 1, 1)), OPTS)
    assert value.item() == pytest.approx((math.log(1 + math.exp(-3)) + math.log(1 + math.exp(-1))) / 2)


def test_cf_is_squared_distance_of_predicted_distributions():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])  # softmax: (.5,.5) and (.75,.25)
    value = cf_loss(out_of(logits=logits), seg(1, 0, 1, langs=(0, 0)), OPTS)
    assert value.item() == pytest.approx(2 * 0.25**2)


def test_contrastive_is_symmetric_infonce():
    r = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # aligned pairs, orthogonal negatives
    value = contrastive_loss(out_of(r=r), seg(2, 2, labels=(0, 1), langs=(0, 0, 1, 1)), OPTS)
    assert value.item() == pytest.approx(-math.log(math.e / (math.e + 1)))


def test_literal_coral_matches_mean_and_covariance_difference():
    r = torch.tensor([[0.0, 0.0], [2.0, 0.0], [1.0, 1.0], [1.0, 3.0]])  # en rows 0,1; de rows 2,3
    value = align_loss(out_of(r=r), seg(2, 2, labels=(0, 0), langs=(0, 0, 1, 1)), LITERAL)
    # means (1,0) vs (1,2): 4. covariances diag(2,0) vs diag(0,2): |diff|_F^2 = 8, / (4*2*2) = 0.5
    assert value.item() == pytest.approx(4.5)


def _hand_standardise(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.concatenate([a, b])
    mean, std = x.mean(0), np.sqrt(x.var(0) + 1e-8)
    return (a - mean) / std, (b - mean) / std


def _hand_cov(x: np.ndarray) -> np.ndarray:
    n, d = x.shape
    mu = [sum(x[i, p] for i in range(n)) / n for p in range(d)]
    return np.array([[sum((x[i, p] - mu[p]) * (x[i, q] - mu[q]) for i in range(n)) / (n - 1) for q in range(d)]
                     for p in range(d)])


def _align_seg(n_a: int, n_b: int, **opts) -> tuple[Segments, ModelConfig]:
    langs = (0,) * n_a + (1,) * n_b
    return seg(n_a, n_b, labels=(0,) * n_a, langs=langs), ModelConfig(**{"align_min_per_lang": 2, **opts})


def test_coral_is_covariance_term_plus_mean_term_over_d_on_standardised_features():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(1.0, 2.0, size=(4, 3))
    sa, sb = _hand_standardise(a, b)
    d = 3
    mean_term = sum((sa[:, p].mean() - sb[:, p].mean()) ** 2 for p in range(d)) / d
    cov_term = sum((_hand_cov(sa) - _hand_cov(sb))[p, q] ** 2 for p in range(d) for q in range(d)) / (4 * d * d)
    s, opts = _align_seg(5, 4)
    value = align_loss(out_of(r=torch.tensor(np.concatenate([a, b]), dtype=torch.float64)), s, opts)
    assert value.item() == pytest.approx(mean_term + cov_term, rel=1e-6)


def _average(mode: str, n_a: int, n_b: int, d: int, shift: float = 0.0, draws: int = 200, seed: int = 0) -> float:
    """The mean of align over `draws` batches of n_a source rows from N(0, I_d) and n_b target rows shifted."""
    s, opts = _align_seg(n_a, n_b, align_mode=mode)
    g = torch.Generator().manual_seed(seed)
    values = [align_loss(out_of(r=torch.cat([torch.randn(n_a, d, generator=g),
                                             torch.randn(n_b, d, generator=g) + shift])), s, opts).item()
              for _ in range(draws)]
    return float(np.mean(values))


def test_coral_of_one_distribution_is_small_against_a_shift_while_the_literal_form_is_its_sampling_bias():
    """16 and 4 rows of N(0, I_128): the literal mean term is tr Σ (1/16 + 1/4) = 40 in expectation, whatever the
    distributions' difference; standardised and divided by d it is 1/16 + 1/4, below what a shift of 1 adds."""
    assert _average("coral_literal", 16, 4, 128, draws=50) == pytest.approx(128 * (1 / 16 + 1 / 4), rel=0.1)
    same, shifted = _average("coral", 16, 4, 128, draws=50), _average("coral", 16, 4, 128, shift=1.0, draws=50)
    assert same < 0.5 and shifted > 2 * same


def _hand_mmd(a: np.ndarray, b: np.ndarray, biased: bool = False) -> float:
    """The module docstring's MMD² written out; `biased`: on a and b as given, every k(x, x) included."""
    if not biased:
        a, b = _hand_standardise(a, b)
    x = np.concatenate([a, b])
    n, m, total = len(a), len(b), len(x)
    d2 = [[float(((x[i] - x[j]) ** 2).sum()) for j in range(total)] for i in range(total)]
    positive = sorted(v for row in d2 for v in row if v > 0)
    scale = positive[(len(positive) - 1) // 2] if positive else 1.0  # the lower median, as torch.median
    k = [[sum(math.exp(-d2[i][j] / (s * scale)) for s in (0.5, 1.0, 2.0)) for j in range(total)] for i in range(total)]
    keep = (lambda i, j: True) if biased else (lambda i, j: i != j)
    pairs_a, pairs_b = (n * n, m * m) if biased else (n * (n - 1), m * (m - 1))
    within_a = sum(k[i][j] for i in range(n) for j in range(n) if keep(i, j)) / pairs_a
    within_b = sum(k[i][j] for i in range(n, total) for j in range(n, total) if keep(i, j)) / pairs_b
    across = sum(k[i][j] for i in range(n) for j in range(n, total)) / (n * m)
    return within_a + within_b - 2 * across


def test_mmd_is_the_unbiased_u_statistic_on_standardised_features():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)), rng.normal(0.5, 1.0, size=(3, 3))
    s, opts = _align_seg(4, 3, align_mode="mmd")
    value = align_loss(out_of(r=torch.tensor(np.concatenate([a, b]), dtype=torch.float64)), s, opts)
    assert value.item() == pytest.approx(_hand_mmd(a, b), rel=1e-6)


def _align(mode: str, a: np.ndarray, b: np.ndarray) -> float:
    s, opts = _align_seg(len(a), len(b), align_mode=mode)
    return align_loss(out_of(r=torch.tensor(np.concatenate([a, b]), dtype=torch.float64)), s, opts).item()


def test_mmd_bandwidth_is_the_median_of_the_positive_squared_distances_however_small():
    """Two tight clusters (squared distances below 1 within them, far above across), then rows all within 0.1 of
    each other for the biased form, which does not standardise; identical rows score 0 (no positive distance:
    bandwidth 1)."""
    a, b = np.array([[0.0], [0.1], [10.0]]), np.array([[0.05], [10.1], [9.9]])
    assert _align("mmd", a, b) == pytest.approx(_hand_mmd(a, b), rel=1e-6)
    tiny_a, tiny_b = np.array([[0.0, 0.01], [0.02, 0.0]]), np.array([[0.05, 0.03], [0.01, 0.04]])
    assert _align("mmd_biased", tiny_a, tiny_b) == pytest.approx(_hand_mmd(tiny_a, tiny_b, biased=True), rel=1e-6)
    same = np.ones((2, 2))
    assert _align("mmd", same, same) == 0.0 and _align("mmd_biased", same, same) == 0.0


def test_coral_standardises_a_constant_dimension_to_zero_instead_of_dividing_by_zero():
    """The second dimension is 5 everywhere: standardised (variance 0 + 1e-8) it is 0, and only the first counts."""
    a, b = np.array([[0.0, 5.0], [2.0, 5.0], [1.0, 5.0]]), np.array([[3.0, 5.0], [5.0, 5.0]])
    sa, sb = _hand_standardise(a, b)
    assert sa[:, 1].tolist() == [0.0] * 3
    d = 2
    hand = ((sa.mean(0) - sb.mean(0)) ** 2).sum() / d + ((_hand_cov(sa) - _hand_cov(sb)) ** 2).sum() / (4 * d * d)
    assert _align("coral", a, b) == pytest.approx(hand, rel=1e-6)


def test_align_needs_min_per_lang_source_rows_and_reads_the_source_language_from_the_first_row():
    """Two source rows against three de rows at align_min_per_lang 3: the source is too small, nothing is aligned. One
    source row (en) before pairs in de ×2 and fr ×2 at minimum 2: still nothing, though de and fr each have enough."""
    rng = np.random.default_rng(3)
    r = torch.tensor(rng.normal(size=(5, 2)))
    opts = ModelConfig(align_mode="coral_literal", align_min_per_lang=3)
    assert align_loss(out_of(r=r), seg(2, 3, labels=(0, 0), langs=(0, 0, 1, 1, 1)), opts).item() == 0.0
    opts = ModelConfig(align_mode="coral_literal", align_min_per_lang=2)
    assert align_loss(out_of(r=r), seg(1, 4, labels=(0,), langs=(0, 1, 1, 2, 2)), opts).item() == 0.0


def test_unbiased_mmd_of_one_distribution_averages_zero_and_the_biased_form_does_not():
    assert abs(_average("mmd", 4, 4, 8)) < 0.03
    assert _average("mmd_biased", 4, 4, 8) > 0.5
    assert _average("mmd", 4, 4, 8, shift=2.0) > 0.3


@pytest.mark.parametrize("mode", ALIGN_MODES)
def test_default_alignment_gives_no_reward_for_shrinking_r_and_the_literal_forms_do(mode):
    """d/dc align(c·r) at c = 1: zero for the standardised forms, positive (shrinking lowers it) for the literal ones.
    The biased MMD's value is scale-free through its median bandwidth, but that bandwidth is held fixed in backward."""
    g = torch.Generator().manual_seed(0)
    r = torch.cat([torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g) + 0.5])
    s, opts = _align_seg(6, 6, align_mode=mode)
    c = torch.tensor(1.0, requires_grad=True)
    value = align_loss(out_of(r=c * r), s, opts)
    value.backward()
    if mode in ("coral", "mmd"):
        assert align_loss(out_of(r=0.01 * r), s, opts).item() == pytest.approx(value.item(), rel=1e-3)
        assert abs(c.grad.item()) < 1e-4 * value.item()
    else:
        assert c.grad.item() > 0.1 * value.item()


def _hand_coral_literal(a: np.ndarray, b: np.ndarray) -> float:
    d = a.shape[1]
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + ((_hand_cov(a) - _hand_cov(b)) ** 2).sum() / (4 * d * d))


def test_align_takes_each_language_with_enough_rows_alone_and_pools_the_small_ones():
    """en ×4 against targets at align_min_per_lang 3, the mean over the groups: de ×3 and fr ×3 each alone; de ×3
    alone and fr ×2 + sw ×1 pooled (3 rows); de ×3 alone and fr ×2 left out (the small pool is below 3); de ×2
    alone is below 3 too, so nothing is aligned."""
    rng = np.random.default_rng(2)
    en, de = rng.normal(size=(4, 2)), rng.normal(1.0, 1.0, size=(3, 2))
    fr, sw = rng.normal(-1.0, 2.0, size=(3, 2)), rng.normal(0.5, 3.0, size=(1, 2))
    opts = ModelConfig(align_mode="coral_literal", align_min_per_lang=3)

    def value(*targets: tuple[int, np.ndarray]) -> float:
        langs = (0,) * 4 + tuple(lang for lang, rows in targets for _ in rows)
        s = seg(4, len(langs) - 4, labels=(0,) * 4, langs=langs)
        rows = np.concatenate([en, *(rows for _, rows in targets)])
        return align_loss(out_of(r=torch.tensor(rows, dtype=torch.float64)), s, opts).item()

    hand = _hand_coral_literal
    assert value((1, de), (2, fr)) == pytest.approx((hand(en, de) + hand(en, fr)) / 2, rel=1e-6)
    small_pool = hand(en, np.concatenate([fr[:2], sw]))
    assert value((1, de), (2, fr[:2]), (3, sw)) == pytest.approx((hand(en, de) + small_pool) / 2, rel=1e-6)
    assert value((2, fr[:2]), (1, de), (3, sw)) == pytest.approx((hand(en, de) + small_pool) / 2, rel=1e-6)
    assert value((1, de), (2, fr[:2])) == pytest.approx(hand(en, de), rel=1e-6)
    assert value((1, de[:2])) == 0.0


def test_align_groups_name_the_languages_of_each_group():
    langs = torch.tensor([0] * 8 + [1] * 9 + [2] * 5 + [3] * 4 + [4] * 2 + [5] * 8)
    assert align_groups(langs, 0, 8) == [[1], [5], [2, 3, 4]]
    assert align_groups(langs[:-8], 0, 8) == [[1], [2, 3, 4]]
    assert align_groups(torch.tensor([0] * 8 + [2] * 5 + [3] * 2), 0, 8) == []


def test_every_align_mode_params_accept_has_a_distance():
    assert set(ALIGN_DISTANCES) == set(ALIGN_MODES)


def _hand_cross_entropy(logits: np.ndarray, targets: list[int]) -> float:
    return float(np.mean([math.log(np.exp(row).sum()) - row[t] for row, t in zip(logits, targets)]))


@pytest.mark.parametrize("anchored", [False, True], ids=["translations", "parallel-corpus"])
def test_adv_and_align_read_only_the_language_labelled_rows(anchored):
    """Counterfactuals never enter adv or align; with a parallel corpus neither do the task's source rows, only the
    corpus's anchors and pairs: changing the excluded rows changes nothing, and adv equals a hand cross-entropy."""
    n = 4
    n_anchor = n if anchored else 0
    langs = [0] * n + [0] * n_anchor + [1, 2, 1, 2] + [2] * n
    s = Segments(torch.zeros(n, dtype=torch.long), torch.tensor(langs), n_src=n, n_pair=n, n_cf=n, n_anchor=n_anchor)
    g = torch.Generator().manual_seed(0)
    r, lang_logits = torch.randn(len(langs), 3, generator=g), torch.randn(len(langs), 3, generator=g)
    opts = ModelConfig(align_min_per_lang=2)
    excluded = (list(range(n)) if anchored else []) + list(range(len(langs) - n, len(langs)))
    kept = [i for i in range(len(langs)) if i not in excluded]
    changed_r, changed_logits = r.clone(), lang_logits.clone()
    changed_r[excluded] = 100.0 * torch.randn(len(excluded), 3, generator=g)
    changed_logits[excluded] = 100.0 * torch.randn(len(excluded), 3, generator=g)
    before = out_of(r=r, lang_logits=lang_logits)
    after = out_of(r=changed_r, lang_logits=changed_logits)
    assert adv_loss(after, s, opts).item() == pytest.approx(adv_loss(before, s, opts).item())
    assert align_loss(after, s, opts).item() == pytest.approx(align_loss(before, s, opts).item())
    hand = _hand_cross_entropy(lang_logits.numpy()[kept], [langs[i] for i in kept])
    assert adv_loss(before, s, opts).item() == pytest.approx(hand, rel=1e-6)


def test_registry_declares_the_segments_each_term_needs():
    assert LOSSES["task"].needs == frozenset()
    assert LOSSES["cf"].needs == {"cf"}
    assert {"pair"} <= LOSSES["inv"].needs and {"pair"} <= LOSSES["sem"].needs


def test_pair_terms_compare_anchor_and_pair_when_a_parallel_corpus_supplies_the_anchor():
    """[x (labelled), anchor a, pair b]: L_sem and L_inv measure ‖a − b‖², never ‖x − b‖²."""
    z = torch.tensor([[9.0, 9.0], [1.0, 0.0], [1.0, 2.0]])
    s = Segments(torch.tensor([0]), torch.tensor([0, 0, 1]), n_src=1, n_pair=1, n_anchor=1)
    assert sem_loss(out_of(z_inv=z), s, LITERAL).item() == pytest.approx(4.0)
    assert inv_loss(out_of(r=z), s, LITERAL).item() == pytest.approx(4.0)
