"""Cosine similarity, ℓ2 metric embedding loss and SimCLR."""

from __future__ import annotations

import math

import pytest
import torch

from pisces.losses import cosine_similarity_matrix, l2_embedding_loss, simclr_loss

T64 = {"dtype": torch.float64}


def test_cosine_matches_definition_and_is_zero_at_zero_norm():
    z_x = torch.tensor([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]], **T64)
    z_y = torch.tensor([[4.0, 3.0], [0.0, -2.0]], **T64)
    s = cosine_similarity_matrix(z_x, z_y)
    want = torch.tensor([[24 / 25, -8 / 10], [0.0, 0.0], [4 / 5, 0.0]], **T64)
    torch.testing.assert_close(s, want, atol=1e-8, rtol=0)
    batched = cosine_similarity_matrix(torch.stack([z_x, 2 * z_x]), z_y)
    assert batched.shape == (2, 3, 2)
    torch.testing.assert_close(batched[1], s, atol=1e-8, rtol=0)


def test_cosine_gradient_finite_at_zero_and_gradcheck():
    z_x = torch.zeros(2, 3, requires_grad=True)
    z_y = torch.zeros(2, 3, requires_grad=True)
    s = cosine_similarity_matrix(z_x, z_y)
    s.sum().backward()
    assert torch.isfinite(z_x.grad).all() and torch.isfinite(z_y.grad).all()
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4, generator=g, **T64, requires_grad=True)
    b = torch.randn(2, 4, generator=g, **T64, requires_grad=True)
    assert torch.autograd.gradcheck(cosine_similarity_matrix, (a, b))


def test_cosine_errors():
    with pytest.raises(ValueError, match="embedding sizes differ"):
        cosine_similarity_matrix(torch.rand(3, 4), torch.rand(3, 5))
    with pytest.raises(ValueError, match="z_y contains 1 NaN"):
        cosine_similarity_matrix(torch.rand(3, 4), torch.tensor([[0.0, 1, 2, math.nan]]))
    with pytest.raises(ValueError, match="floating-point"):
        cosine_similarity_matrix(torch.ones(3, 4, dtype=torch.long), torch.rand(3, 4))


def test_l2_loss_by_hand():
    z_x = torch.tensor([[0.0, 0.0], [3.0, 4.0]], **T64)
    z_y = torch.tensor([[0.0, 0.0], [0.0, 1.0], [6.0, 8.0]], **T64)
    d = torch.tensor([[0.5, 1.0, 9.0], [5.0, 4.0, 1.0]], **T64)
    # Distances: row 0 -> (0, 1, 10); row 1 -> (5, sqrt(9 + 9), 5).
    errs = [0 - 0.5, 1 - 1.0, 10 - 9.0, 5 - 5.0, math.sqrt(18) - 4.0, 5 - 1.0]
    want = sum(e * e for e in errs) / 6
    assert l2_embedding_loss(z_x, z_y, d).item() == pytest.approx(want, abs=1e-12)


def test_l2_gradient_safe_at_coincident_embeddings_and_gradcheck():
    z_x = torch.tensor([[1.0, 2.0], [0.0, 0.0]], requires_grad=True)
    z_y = torch.tensor([[1.0, 2.0], [0.0, 0.0]], requires_grad=True)
    loss = l2_embedding_loss(z_x, z_y, torch.ones(2, 2))
    loss.backward()
    assert torch.isfinite(z_x.grad).all() and torch.isfinite(z_y.grad).all()
    g = torch.Generator().manual_seed(1)
    a = torch.randn(3, 4, generator=g, **T64, requires_grad=True)
    b = torch.randn(2, 4, generator=g, **T64, requires_grad=True)
    d = torch.rand(3, 2, generator=g, **T64)
    assert torch.autograd.gradcheck(lambda u, v: l2_embedding_loss(u, v, d), (a, b))


def test_l2_training_fits_a_realizable_metric():
    g = torch.Generator().manual_seed(2)
    target_x, target_y = torch.randn(5, 3, generator=g), torch.randn(4, 3, generator=g)
    d = torch.cdist(target_x, target_y)
    z_x = torch.randn(5, 3, generator=g, requires_grad=True)
    z_y = torch.randn(4, 3, generator=g, requires_grad=True)
    opt = torch.optim.Adam([z_x, z_y], lr=0.05)
    before = l2_embedding_loss(z_x, z_y, d).item()
    for _ in range(300):
        opt.zero_grad()
        loss = l2_embedding_loss(z_x, z_y, d)
        loss.backward()
        opt.step()
    assert l2_embedding_loss(z_x, z_y, d).item() < 0.05 * before


def test_l2_batch_and_errors():
    g = torch.Generator().manual_seed(3)
    z_x, z_y = torch.randn(2, 3, 4, generator=g), torch.randn(2, 5, 4, generator=g)
    d = torch.rand(3, 5, generator=g)
    batched = l2_embedding_loss(z_x, z_y, d)
    assert batched.shape == (2,)
    assert batched[1].item() == pytest.approx(l2_embedding_loss(z_x[1], z_y[1], d).item())
    with pytest.raises(ValueError, match=r"must end in \(n, m\)"):
        l2_embedding_loss(z_x, z_y, torch.rand(5, 3))
    with pytest.raises(ValueError, match="embedding sizes differ"):
        l2_embedding_loss(torch.rand(3, 4), torch.rand(5, 2), d)
    d_nan = d.clone()
    d_nan[2, 4] = math.nan
    with pytest.raises(ValueError, match="metric contains 1 NaN"):
        l2_embedding_loss(z_x, z_y, d_nan)


def _simclr_naive(z_a: torch.Tensor, z_b: torch.Tensor, tau: float) -> float:
    views = [*z_a, *z_b]
    n2 = len(views)

    def cos(u: torch.Tensor, v: torch.Tensor) -> float:
        return float(u @ v) / (math.sqrt(float(u @ u)) * math.sqrt(float(v @ v)))

    total = 0.0
    for k in range(n2):
        p = (k + n2 // 2) % n2
        denom = sum(math.exp(cos(views[k], views[l]) / tau) for l in range(n2) if l != k)
        total += -math.log(math.exp(cos(views[k], views[p]) / tau) / denom)
    return total / n2


def test_simclr_matches_naive_loop():
    g = torch.Generator().manual_seed(4)
    z_a, z_b = torch.randn(4, 3, generator=g, **T64), torch.randn(4, 3, generator=g, **T64)
    got = simclr_loss(z_a, z_b, temperature=0.3)
    assert got.item() == pytest.approx(_simclr_naive(z_a, z_b, 0.3), abs=1e-9)
    # N = 1: the only other view is the positive, so the loss is exactly 0.
    assert simclr_loss(z_a[:1], z_b[:1], temperature=0.3).item() == pytest.approx(0.0, abs=1e-12)
    batched = simclr_loss(torch.stack([z_a, z_b]), torch.stack([z_b, z_a]), temperature=0.3)
    assert batched.shape == (2,)
    # Swapping the views permutes the anchors: same mean.
    torch.testing.assert_close(batched[0], batched[1])


def test_simclr_gradcheck_zero_norm_and_errors():
    g = torch.Generator().manual_seed(5)
    a = torch.randn(3, 4, generator=g, **T64, requires_grad=True)
    b = torch.randn(3, 4, generator=g, **T64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, v: simclr_loss(u, v, temperature=0.5), (a, b))
    z = torch.zeros(3, 4, requires_grad=True)
    simclr_loss(z, torch.rand(3, 4), temperature=0.5).backward()
    assert torch.isfinite(z.grad).all()
    with pytest.raises(ValueError, match="same shape"):
        simclr_loss(torch.rand(3, 4), torch.rand(2, 4), temperature=0.5)
    with pytest.raises(ValueError, match="temperature"):
        simclr_loss(torch.rand(3, 4), torch.rand(3, 4), temperature=0.0)
    with pytest.raises(ValueError, match="z_a contains"):
        simclr_loss(torch.full((3, 4), math.inf), torch.rand(3, 4), temperature=0.5)


def test_simclr_training_separates_inputs():
    g = torch.Generator().manual_seed(6)
    z_a = torch.randn(5, 8, generator=g, requires_grad=True)
    z_b = torch.randn(5, 8, generator=g, requires_grad=True)
    opt = torch.optim.Adam([z_a, z_b], lr=0.05)
    before = simclr_loss(z_a, z_b, temperature=0.2).item()
    for _ in range(100):
        opt.zero_grad()
        simclr_loss(z_a, z_b, temperature=0.2).backward()
        opt.step()
    assert simclr_loss(z_a, z_b, temperature=0.2).item() < 0.5 * before
    s = cosine_similarity_matrix(z_a, z_b).detach()
    assert torch.equal(s.argmax(dim=1), torch.arange(5))
