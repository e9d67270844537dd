"""CME loss: hand-computed values, tie-breaking, β limits, gradients, training behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from pisces.losses import cme_loss, cosine_similarity_matrix, positive_indices


def lse(*xs: float) -> float:
    return math.log(sum(math.exp(x) for x in xs))


T64 = {"dtype": torch.float64}

# 2 x 3 example shared by the official-variant tests. Row 1 has a tie (D = 0 at columns 1, 2).
S23 = torch.tensor([[0.9, 0.1, -0.3], [0.2, 0.7, 0.4]], **T64)
D23 = torch.tensor([[0.25, 1.0, 1.0], [1.0, 0.0, 0.0]], **T64)


def test_positive_indices_lowest_index_ties():
    d = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [2.0, 2.0, 2.0]])
    assert positive_indices(d, dim=-1).tolist() == [1, 0, 0]
    assert positive_indices(d, dim=-2).tolist() == [1, 0, 0]
    # Jumping-task structure: a block of zero distances maps every anchor to its first entry.
    block = torch.ones(6, 6)
    block[3:, 2:] = 0.0
    assert positive_indices(block, dim=-1)[3:].tolist() == [2, 2, 2]
    assert positive_indices(block, dim=-2)[2:].tolist() == [3, 3, 3, 3]
    # Batched: one index per anchor per batch element.
    assert positive_indices(torch.stack([d, d.mT]), dim=-1).shape == (2, 3)


def test_official_unweighted_by_hand():
    tau = 0.5  # logits L = 2 S
    # Rows: p(0) = 0, p(1) = 1 (tie between columns 1 and 2 -> lowest).
    rows = ((lse(1.8, 0.2, -0.6) - 1.8) + (lse(0.4, 1.4, 0.8) - 1.4)) / 2
    # Columns: q(0) = 0, q(1) = 1, q(2) = 1.
    cols = ((lse(1.8, 0.4) - 1.8) + (lse(0.2, 1.4) - 1.4) + (lse(-0.6, 0.8) - 0.8)) / 3
    got = cme_loss(S23, D23, temperature=tau, variant="official")
    assert got.item() == pytest.approx(rows + cols, abs=1e-12)
    # beta is inert without coupling weights (as in the official code).
    got_b = cme_loss(S23, D23, temperature=tau, beta=0.01, variant="official")
    assert got_b.item() == pytest.approx(rows + cols, abs=1e-12)


def test_official_coupling_weights_by_hand():
    tau, beta = 0.5, 0.5
    far = math.log(1.0 - math.exp(-1.0 / beta) + 1e-9)  # non-positive at D = 1
    tie = math.log(1.0 - 1.0 + 1e-9)  # non-positive at D = 0
    pos0 = 1.8 - 0.25 / beta  # positive (0, 0) at D = 0.25 gets -D/beta
    r0 = lse(pos0, 0.2 + far, -0.6 + far) - pos0
    r1 = lse(0.4 + far, 1.4, 0.8 + tie) - 1.4
    c0 = lse(pos0, 0.4 + far) - pos0
    c1 = lse(0.2 + far, 1.4) - 1.4
    c2 = lse(-0.6 + far, 0.8) - 0.8
    want = (r0 + r1) / 2 + (c0 + c1 + c2) / 3
    got = cme_loss(S23, D23, temperature=tau, beta=beta, variant="official", coupling_weights=True)
    assert got.item() == pytest.approx(want, abs=1e-12)


def test_paper_by_hand_columns_are_anchors():
    s = torch.tensor([[0.5, -0.2], [0.1, 0.8]], **T64)
    d = torch.tensor([[0.0, 1.0], [2.0, 0.5]], **T64)
    tau, beta = 0.5, 1.0
    # Column 0: D[:, 0] = (0, 2) -> positive row 0, Γ = 1; negative row 1 weight 1 - e^-2.
    g00, g10 = 1.0, math.exp(-2.0)
    l0 = -math.log(g00 * math.exp(1.0) / (g00 * math.exp(1.0) + (1 - g10) * math.exp(0.2)))
    # Column 1: D[:, 1] = (1, 0.5) -> positive row 1, Γ = e^-0.5; negative row 0: 1 - e^-1.
    g11, g01 = math.exp(-0.5), math.exp(-1.0)
    l1 = -math.log(g11 * math.exp(1.6) / (g11 * math.exp(1.6) + (1 - g01) * math.exp(-0.4)))
    got = cme_loss(s, d, temperature=tau, beta=beta, variant="paper")
    assert got.item() == pytest.approx((l0 + l1) / 2, abs=1e-12)
    # Row anchors would pick (0, 0) and (1, 1) too but weigh different negatives: not equal.
    assert cme_loss(s.mT, d.mT, temperature=tau, beta=beta).item() != pytest.approx(got.item())


def test_paper_ties_go_to_lowest_index_and_are_masked():
    s = torch.tensor([[0.1, 0.3], [0.9, -0.5], [0.4, 0.2]], **T64)
    d = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]], **T64)
    # Column 0: rows 0 and 1 tie at D = 0 -> positive row 0; row 1 has weight 1 - Γ = 0.
    beta, tau = 0.1, 1.0
    w2 = 1 - math.exp(-1.0 / beta)
    l0 = -math.log(math.exp(0.1) / (math.exp(0.1) + 0.0 * math.exp(0.9) + w2 * math.exp(0.4)))
    l1 = -math.log(math.exp(0.2) / (math.exp(0.2) + w2 * math.exp(0.3) + w2 * math.exp(-0.5)))
    got = cme_loss(s, d, temperature=tau, beta=beta)
    assert got.item() == pytest.approx((l0 + l1) / 2, abs=1e-12)


def _column_infonce(s: torch.Tensor, d: torch.Tensor, tau: float) -> torch.Tensor:
    pos = d.argmin(dim=0)
    logp = torch.log_softmax(s / tau, dim=0)
    return -logp[pos, torch.arange(s.shape[1])].mean()


def test_paper_beta_limits():
    g = torch.Generator().manual_seed(0)
    s = torch.rand(5, 4, generator=g, **T64) * 2 - 1
    d = torch.rand(5, 4, generator=g, **T64) + 0.5
    d[torch.tensor([3, 0, 4, 1]), torch.arange(4)] = 0.0  # unique zero-distance positives
    # Small β: Γ -> 0/1 so Eq. 4 becomes the unweighted column-anchor InfoNCE.
    small = cme_loss(s, d, temperature=0.5, beta=1e-3)
    assert small.item() == pytest.approx(_column_infonce(s, d, 0.5).item(), abs=1e-9)
    # Large β: Γ -> 1 everywhere, negatives vanish, the loss tends to 0 (~ max d / β).
    large = cme_loss(s, d, temperature=0.5, beta=1e6)
    assert 0.0 < large.item() < 1e-4
    losses = [cme_loss(s, d, temperature=0.5, beta=b).item() for b in (1e2, 1e3, 1e4)]
    assert losses[0] > losses[1] > losses[2]


def test_paper_matches_appendix_listing_when_transposed():
    """The J.2 listing anchors rows with log(1 - Γ + 1e-8): paper(S.mT, D.mT) up to that eps."""
    g = torch.Generator().manual_seed(1)
    s = torch.rand(4, 6, generator=g, **T64)
    d = torch.rand(4, 6, generator=g, **T64) + 0.2
    tau, beta = 0.7, 0.3
    logits = s / tau
    cols = d.argmin(dim=1)
    rows = torch.arange(4)
    pos_w = -(d / beta)[rows, cols]
    pos_logits = logits[rows, cols] + pos_w
    neg_w = torch.log(1 - torch.exp(-d / beta) + 1e-8)
    neg_w[rows, cols] = pos_w
    listing = (torch.logsumexp(logits + neg_w, dim=1) - pos_logits).mean()
    got = cme_loss(s.mT, d.mT, temperature=tau, beta=beta)
    assert got.item() == pytest.approx(listing.item(), abs=1e-6)


def test_batch_dims_and_metric_broadcast():
    g = torch.Generator().manual_seed(2)
    s = torch.rand(3, 4, 5, generator=g, **T64)
    d = torch.rand(4, 5, generator=g, **T64)
    for kw in (
        {"variant": "paper", "beta": 0.2},
        {"variant": "official"},
        {"variant": "official", "coupling_weights": True, "beta": 0.2},
    ):
        batched = cme_loss(s, d, temperature=0.5, **kw)
        assert batched.shape == (3,)
        single = torch.stack([cme_loss(s[b], d, temperature=0.5, **kw) for b in range(3)])
        torch.testing.assert_close(batched, single)


def test_float32_close_to_float64():
    g = torch.Generator().manual_seed(3)
    s = torch.rand(6, 6, generator=g, **T64)
    d = torch.rand(6, 6, generator=g, **T64)
    for variant in ("paper", "official"):
        l64 = cme_loss(s, d, temperature=0.5, beta=0.1, variant=variant)
        l32 = cme_loss(s.float(), d.float(), temperature=0.5, beta=0.1, variant=variant)
        assert l32.dtype == torch.float32
        assert l32.item() == pytest.approx(l64.item(), rel=1e-5)


VARIANTS = [
    {"variant": "paper", "beta": 0.5},
    {"variant": "official"},
    {"variant": "official", "coupling_weights": True, "beta": 0.5},
]


@pytest.mark.parametrize("kw", VARIANTS)
def test_gradcheck_through_cosine(kw):
    g = torch.Generator().manual_seed(4)
    z_x = torch.randn(4, 3, generator=g, **T64, requires_grad=True)
    z_y = torch.randn(5, 3, generator=g, **T64, requires_grad=True)
    d = torch.rand(4, 5, generator=g, **T64)
    d[0, :2] = 0.0  # ties and zero-distance non-positives (masked with -inf in the paper one)

    def f(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return cme_loss(cosine_similarity_matrix(a, b), d, temperature=0.5, **kw)

    assert torch.autograd.gradcheck(f, (z_x, z_y))


@pytest.mark.parametrize("kw", VARIANTS)
def test_no_nan_gradient_at_zero_embedding(kw):
    z_x = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.2, 0.0, 1.0]], requires_grad=True)
    z_y = torch.tensor([[0.0, 0.0, 0.0], [0.3, 1.0, 0.0]], requires_grad=True)
    d = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    loss = cme_loss(cosine_similarity_matrix(z_x, z_y), d, temperature=0.5, **kw)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(z_x.grad).all() and torch.isfinite(z_y.grad).all()


def test_metric_gets_no_gradient():
    s = torch.rand(3, 3, requires_grad=True)
    d = torch.rand(3, 3, requires_grad=True)
    cme_loss(s, d, temperature=1.0, beta=0.5).backward()
    assert d.grad is None
    assert s.grad is not None and s.grad.abs().sum() > 0


@pytest.mark.parametrize("kw", VARIANTS)
def test_training_aligns_positives(kw):
    g = torch.Generator().manual_seed(5)
    n = 6
    perm = torch.randperm(n, generator=g)
    d = torch.ones(n, n)
    d[torch.arange(n), perm] = 0.0  # row i's positive is column perm[i] and vice versa
    z_x = torch.randn(n, 8, generator=g, requires_grad=True)
    z_y = torch.randn(n, 8, generator=g, requires_grad=True)
    opt = torch.optim.Adam([z_x, z_y], lr=0.05)

    def loss_fn() -> torch.Tensor:
        return cme_loss(cosine_similarity_matrix(z_x, z_y), d, temperature=0.2, **kw)

    before = loss_fn().item()
    for _ in range(100):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    assert loss_fn().item() < 0.5 * before
    s = cosine_similarity_matrix(z_x, z_y).detach()
    assert torch.equal(s.argmax(dim=0), positive_indices(d, dim=-2))
    if kw["variant"] == "official":
        assert torch.equal(s.argmax(dim=1), positive_indices(d, dim=-1))


def test_errors():
    s, d = torch.rand(3, 4), torch.rand(3, 4)
    with pytest.raises(ValueError, match="last two dimensions"):
        cme_loss(s, torch.rand(4, 3), temperature=1.0, beta=1.0)
    with pytest.raises(ValueError, match="do not broadcast"):
        cme_loss(torch.rand(2, 3, 4), torch.rand(5, 3, 4), temperature=1.0, beta=1.0)
    with pytest.raises(ValueError, match="temperature"):
        cme_loss(s, d, temperature=0.0, beta=1.0)
    with pytest.raises(ValueError, match="temperature"):
        cme_loss(s, d, temperature=-1.0, variant="official")
    with pytest.raises(ValueError, match="beta"):
        cme_loss(s, d, temperature=1.0, beta=0.0)
    with pytest.raises(ValueError, match="beta is required"):
        cme_loss(s, d, temperature=1.0)
    with pytest.raises(ValueError, match="beta is required"):
        cme_loss(s, d, temperature=1.0, variant="official", coupling_weights=True)
    with pytest.raises(ValueError, match="official"):
        cme_loss(s, d, temperature=1.0, beta=1.0, coupling_weights=True)
    with pytest.raises(ValueError, match="variant"):
        cme_loss(s, d, temperature=1.0, beta=1.0, variant="symmetric")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        cme_loss(s, -d, temperature=1.0, beta=1.0)
    s_nan = s.clone()
    s_nan[1, 2] = float("nan")
    with pytest.raises(ValueError, match="similarity contains 1 NaN"):
        cme_loss(s_nan, d, temperature=1.0, beta=1.0)
    d_inf = d.clone()
    d_inf[0, 0] = float("inf")
    with pytest.raises(ValueError, match="metric contains 0 NaN and 1 infinite"):
        cme_loss(s, d_inf, temperature=1.0, variant="official")
    # validate=False skips the (syncing) value checks: NaN propagates instead of raising.
    assert torch.isnan(cme_loss(s_nan, d, temperature=1.0, beta=1.0, validate=False))
    with pytest.raises(ValueError, match="2 dimensions"):
        cme_loss(torch.rand(3), torch.rand(3), temperature=1.0, beta=1.0)
