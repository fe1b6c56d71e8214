"""The objective, the gate and the discriminator against hand computations in numpy: values *and* gradients, since
a sign, a missing weight or a detached branch leaves some forward values unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xcrl_cli.config import ModelConfig, Variant
from xcrl_cli.model.adversary import LanguageDiscriminator
from xcrl_cli.model.gate import CausalGate
from xcrl_cli.model.losses import Segments, cf_loss, contrastive_loss, sem_loss, total_loss
from xcrl_cli.model.model import ModelOutput

RNG = np.random.default_rng(0)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _cross_entropy(logits: np.ndarray, targets) -> float:
    return float(np.mean([-math.log(_softmax(row)[t]) for row, t in zip(logits, targets)]))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _leaf(x: np.ndarray) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def test_total_is_the_weighted_sum_with_the_adversarial_term_added():
    """Task 1, orth 0.5, adv 0.25, cf 2 on two sources (en), two pairs (de) and two counterfactuals (fr): the total
    is Σ w_t L_t of terms computed here, and its gradient on the language logits is +0.25 · ∂CE (the discriminator
    descends its loss; the GRL, not the sign, makes the encoder ascend it)."""
    logits, lang_logits = RNG.normal(size=(6, 2)), RNG.normal(size=(6, 3))
    z = {name: RNG.normal(size=(6, 2)) for name in ("z_inv", "z_spe", "z_task")}
    labels, langs = [0, 1], [0, 0, 1, 1, 2, 2]
    out = ModelOutput(h=torch.zeros(6, 2), r=torch.zeros(6, 2), logits=_leaf(logits), lang_logits=_leaf(lang_logits),
                      **{k: torch.tensor(v) for k, v in z.items()})
    seg = Segments(torch.tensor(labels), torch.tensor(langs), n_src=2, n_pair=2, n_cf=2)
    weights = {"task": 1.0, "orth": 0.5, "adv": 0.25, "cf": 2.0}

    total, terms = total_loss(Variant(True, True, weights), out, seg, ModelConfig(orth_mode="per_sample"))

    unit = {k: v / np.linalg.norm(v, axis=1, keepdims=True) for k, v in z.items()}
    cos2 = [((unit[a] * unit[b]).sum(1) ** 2).mean() for a, b in
            (("z_inv", "z_spe"), ("z_inv", "z_task"), ("z_spe", "z_task"))]
    hand = {"task": _cross_entropy(logits[:2], labels), "orth": sum(cos2),
            "adv": _cross_entropy(lang_logits[:4], langs[:4]),
            "cf": float(((_softmax(logits[:2]) - _softmax(logits[4:])) ** 2).sum(1).mean())}
    assert {k: v.item() for k, v in terms.items()} == pytest.approx(hand, rel=1e-9)
    assert total.item() == pytest.approx(sum(weights[k] * hand[k] for k in weights), rel=1e-9)
    total.backward()
    grad = 0.25 * (_softmax(lang_logits[:4]) - np.eye(3)[langs[:4]]) / 4
    assert np.allclose(out.lang_logits.grad.numpy(), np.vstack([grad, np.zeros((2, 3))]))


def test_cf_gradient_reaches_both_the_source_and_the_counterfactual_logits():
    """L = mean_i ‖p_i − q_i‖², p = softmax(source logits), q = softmax(counterfactual logits): ∂L/∂q_i = −2(p_i −
    q_i)/n, through the softmax Jacobian diag(q) − q qᵀ; symmetrically for p."""
    logits = RNG.normal(size=(4, 3))
    out = ModelOutput(h=torch.zeros(4, 2), r=torch.zeros(4, 2), logits=_leaf(logits))
    cf_loss(out, Segments(torch.tensor([0, 1]), torch.tensor([0, 0, 1, 1]), n_src=2, n_cf=2), ModelConfig()).backward()
    p, q = _softmax(logits[:2]), _softmax(logits[2:])

    def through_softmax(probs: np.ndarray, upstream: np.ndarray) -> np.ndarray:
        return probs * (upstream - (upstream * probs).sum(1, keepdims=True))

    assert np.allclose(out.logits.grad.numpy()[2:], through_softmax(q, -2 * (p - q) / 2))
    assert np.allclose(out.logits.grad.numpy()[:2], through_softmax(p, 2 * (p - q) / 2))


def test_contrastive_divides_cosines_by_the_temperature_over_rows_of_unequal_norms():
    a, b = RNG.normal(size=(3, 4)) * [[1.0], [5.0], [0.2]], RNG.normal(size=(3, 4)) * [[3.0], [0.1], [2.0]]
    r = torch.tensor(np.concatenate([a, b]))
    seg = Segments(torch.tensor([0, 1, 0]), torch.tensor([0, 0, 0, 1, 1, 1]), n_src=3, n_pair=3)
    value = contrastive_loss(ModelOutput(h=r, r=r, logits=r), seg, ModelConfig(temperature=0.5))
    unit_a, unit_b = (x / np.linalg.norm(x, axis=1, keepdims=True) for x in (a, b))
    sim = unit_a @ unit_b.T / 0.5
    assert value.item() == pytest.approx((_cross_entropy(sim, [0, 1, 2]) + _cross_entropy(sim.T, [0, 1, 2])) / 2)


def test_contrastive_builds_its_targets_on_the_device_of_its_inputs():
    """On the meta device (shapes only) a target left on the CPU fails cross-entropy's device check."""
    r = torch.randn(4, 3, device="meta")
    seg = Segments(torch.tensor([0, 1]), torch.tensor([0, 0, 1, 1]), n_src=2, n_pair=2)
    assert contrastive_loss(ModelOutput(h=r, r=r, logits=r), seg, ModelConfig()).device.type == "meta"


def test_normalized_pair_distance_normalises_each_row_on_its_own():
    """Anchors and pairs of unequal norms: mean over rows of 2 − 2 cos(a_i, b_i)."""
    a, b = RNG.normal(size=(3, 2)) * [[4.0], [0.5], [1.0]], RNG.normal(size=(3, 2)) * [[0.3], [2.0], [1.0]]
    z = torch.tensor(np.concatenate([a, b]))
    seg = Segments(torch.tensor([0, 0, 0]), torch.tensor([0, 0, 0, 1, 1, 1]), n_src=3, n_pair=3)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    value = sem_loss(ModelOutput(h=z, r=z, logits=z, z_inv=z), seg, ModelConfig(distance="normalized"))
    assert value.item() == pytest.approx(float(np.mean(2 - 2 * cos)))


def test_segments_move_labels_and_languages_and_keep_the_layout():
    seg = Segments(torch.tensor([1, 0]), torch.tensor([0, 0, 1, 1, 2]), n_src=2, n_pair=2, n_cf=1)
    moved = seg.to(torch.device("meta"))
    assert moved.labels.device.type == "meta" and moved.lang_ids.device.type == "meta"
    assert (moved.n_src, moved.n_pair, moved.n_cf, moved.n_anchor) == (2, 2, 1, 0)
    assert moved.labels.shape == (2,) and moved.lang_ids.shape == (5,)


def test_gate_gradient_flows_through_both_the_weights_and_the_gated_input():
    """r = σ(Wx + b) ⊙ x, L = Σ c ⊙ r: ∂L/∂x_j = c_j σ_j + Σ_i c_i x_i σ_i (1 − σ_i) W_ij; ∂L/∂W_ij = Σ_n c_i x_i
    σ_i (1 − σ_i) x_j; ∂L/∂b_i = Σ_n c_i x_i σ_i (1 − σ_i). A detached input loses the first or the second part."""
    w, b, x, c = RNG.normal(size=(3, 3)), RNG.normal(size=3), RNG.normal(size=(2, 3)), RNG.normal(size=(2, 3))
    gate = CausalGate(3, "default").double()
    with torch.no_grad():
        gate.proj.weight.copy_(torch.tensor(w))
        gate.proj.bias.copy_(torch.tensor(b))
    x_t = _leaf(x)
    r = gate(x_t)
    (r * torch.tensor(c)).sum().backward()

    s = _sigmoid(x @ w.T + b)
    assert np.allclose(r.detach().numpy(), s * x)
    inner = c * x * s * (1 - s)  # (N, dim): ∂L/∂(Wx + b)
    assert np.allclose(x_t.grad.numpy(), c * s + inner @ w)
    assert np.allclose(gate.proj.weight.grad.numpy(), inner.T @ x)
    assert np.allclose(gate.proj.bias.grad.numpy(), inner.sum(0))


def test_gate_opens_by_default_at_sigma_3():
    gate = CausalGate(4)
    assert not gate.proj.weight.any() and torch.all(gate.proj.bias == 3.0)
    assert CausalGate(4, "default").proj.weight.any()


def _gelu(u: np.ndarray) -> np.ndarray:
    return u * (1 + np.vectorize(math.erf)(u / math.sqrt(2))) / 2


def _gelu_grad(u: np.ndarray) -> np.ndarray:
    return (1 + np.vectorize(math.erf)(u / math.sqrt(2))) / 2 + u * np.exp(-u * u / 2) / math.sqrt(2 * math.pi)


def test_discriminator_is_linear_gelu_linear_and_hands_z_inv_the_reversed_gradient():
    """D(z) = W₂ GELU(W₁ z + b₁) + b₂ forward; backward, z receives −coeff × the plain chain rule, D's own weights
    the plain gradient."""
    disc = LanguageDiscriminator(dim=3, hidden=4, n_languages=2).double()
    first, last = disc.net[0], disc.net[2]
    assert (first.in_features, first.out_features, last.in_features, last.out_features) == (3, 4, 4, 2)
    w1, b1, w2, b2 = RNG.normal(size=(4, 3)), RNG.normal(size=4), RNG.normal(size=(2, 4)), RNG.normal(size=2)
    with torch.no_grad():
        for layer, w, b in ((first, w1, b1), (last, w2, b2)):
            layer.weight.copy_(torch.tensor(w))
            layer.bias.copy_(torch.tensor(b))
    z, g = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 2))
    z_t = _leaf(z)
    logits = disc(z_t, 0.3)
    (logits * torch.tensor(g)).sum().backward()

    u = z @ w1.T + b1
    assert np.allclose(logits.detach().numpy(), _gelu(u) @ w2.T + b2)
    assert np.allclose(z_t.grad.numpy(), -0.3 * ((g @ w2) * _gelu_grad(u)) @ w1)
    assert np.allclose(last.weight.grad.numpy(), g.T @ _gelu(u))


def test_adversarial_term_trains_the_discriminator_down_its_cross_entropy():
    """One SGD step on λ·L_adv through D lowers the cross-entropy (the plus sign in the total); the same step moves z
    up it (the GRL)."""
    torch.manual_seed(0)
    disc = LanguageDiscriminator(dim=2, hidden=8, n_languages=2)
    z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], requires_grad=True)
    langs = torch.tensor([0, 0, 1, 1])
    before = F.cross_entropy(disc(z, 1.0), langs)
    before.backward()
    with torch.no_grad():
        for p in disc.parameters():
            p -= 0.5 * p.grad
        moved = z - 0.5 * z.grad
        assert F.cross_entropy(disc(z, 1.0), langs) < before
        assert F.cross_entropy(disc.net(moved), langs) > F.cross_entropy(disc.net(z), langs)
