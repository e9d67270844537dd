"""Training and evaluation of the LQR methods, batched over seeds (spec §3).

Every method minimises the mean exact cost of the ``N`` training environments,
``1/N Σ_i J(K W_i)``, full batch, with the closed-form gradient of
:mod:`pisces.envs.lqr.cost` (no autodiff in the loop). Seeds are a leading batch axis
``S`` of every tensor; a batch is trained in one loop and each seed's result is a dict.

Methods (``LQRConfig.method``):

* ``overparam``: ``K = K2 K1`` (K1: h × D, K2: na × h, D = ns + nd). With ``Z_i = K1 W_i``
  and ``Keff_i = K2 Z_i``: ``∇_K2 = 1/N Σ_i G_i Z_iᵀ``, ``∇_K1 = (1/N Σ_i K2ᵀ G_i W_iᵀ)``,
  ``G_i = ∇_Keff J(Keff_i)``.
* ``psm``: ``overparam`` + ``λ ‖K1 (W_x − W_y) M‖²_F`` (the PSM-pair loss, see
  :mod:`pisces.experiments.lqr.pairs`); adds ``2λ E Mᵀ (W_x − W_y)ᵀ`` to ``∇_K1``,
  ``E = (Z_x − Z_y) M``.
* ``random-penalty``: ``overparam`` + ``λ ‖K1 F‖²_F`` with ``F = [0 ; V] R``, ``V`` a Haar
  random nd × ns semi-orthogonal matrix and ``R`` the triangular factor of the PSM factor
  ``(W_x − W_y) M = U R`` (same singular values, random distractor subspace).
* ``penalty="prox"`` (either of the two above): the optimizer steps on the cost alone; then
  ``K1 ← argmin_K ½‖K − K1‖² + η λ ‖K P‖²_F = K1 (I + 2ηλ P Pᵀ)⁻¹
  = K1 − (K1 P) (I/(2ηλ) + PᵀP)⁻¹ Pᵀ`` (Woodbury), η = lr, P = ``(W_x − W_y) M`` or ``F``.
* ``ipo``: one linear ``K_i`` (zeros) per training environment, each with its own optimizer;
  the policy is ``K = 1/N Σ_i K_i``. Each iteration visits ``i = 1..N`` in turn, recomputes
  ``K`` with the latest ``K_j``, and steps only ``K_i`` on ``J(K W_i)``
  (``∇_{K_i} = 1/N G_i W_iᵀ``).
* ``l1``: linear ``K`` (zeros), optimizer step on the cost then the proximal step of
  ``μ ‖K‖₁``: ``K ← sign(K) max(|K| − lr μ, 0)``.

Optimizers: ``adam`` (β = (0.9, 0.999), ε = 1e-8, bias-corrected, as ``torch.optim.Adam``)
or ``gd`` (``θ ← θ − lr ∇θ``).

The steps themselves (the optimizers, the penalties, IPO, ℓ1 and the proximal steps) are the
linear-policy learner of :mod:`pisces.agents.linear_policy`; this module draws each seed's
data, runs the loop and evaluates. :func:`run` is the benchmark's ``(config, seed) →
record`` entry point (no file, no progress bar).

Device: the training tensors live on ``LQRConfig.device`` (a GPU takes the whole 100-seed
batch of a cell at once); the seed data is drawn in NumPy on the host, so a seed's
environments, initialisation and pairs are the same on every device.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pisces.agents.linear_policy import (
    OVERPARAM,
    Optimizer,
    adam_second_moment,
    init_factor,
    ipo_step,
    l1_step,
    overparam_step,
    policy,
    prox_operator,
)
from pisces.envs.lqr.cost import oracle, test_errors
from pisces.envs.lqr.system import (
    LQRSystem,
    haar_orthogonal,
    make_system,
    observation_matrix,
    sample_distractors,
)
from pisces.experiments.lqr.config import LQRConfig
from pisces.experiments.lqr.pairs import psm_pairs
from pisces.experiments.runs import atomic_open
from pisces.experiments.seeds import spawn_generators

Tensor = torch.Tensor
#: format tag of a mid-run checkpoint of one batch.
CHECKPOINT_FORMAT = "pisces-lqr-midrun-1"
#: iterations between two records of the training cost (one host sync each).
CURVE_EVERY = 500


@dataclass(frozen=True)
class SeedData:
    """Everything one seed draws. The environments depend only on (seed, nd, ns, T), never on
    the method, so every method is evaluated on the same test environments of a seed."""

    seed: int
    """The run seed; all draws come from ``np.random.SeedSequence(seed)``."""
    system: LQRSystem
    """A, B, Q, R, Wc."""
    w_train: np.ndarray
    """(N, D, ns) observation matrices of the training environments."""
    w_test: np.ndarray
    """(T, D, ns) observation matrices of the test environments."""
    j_star: float
    """Oracle cost tr(P*)."""
    gain: np.ndarray
    """Oracle gain L* (na × ns)."""
    pair_factor: np.ndarray | None
    """psm: M (ns × ns); random-penalty: F (D × ns); else None."""
    pair_info: dict
    """Diagnostics of the PSM pairs (count, same-state check, residual)."""


def seed_streams(seed: int) -> list[np.random.Generator]:
    """Independent generators (env, test, init, pairs, control) derived from ``seed``."""
    return spawn_generators(seed, 5)


def make_seed_data(config: LQRConfig, seed: int) -> SeedData:
    """Draw the system, the training and test environments, and the pairs of one seed."""
    env_rng, test_rng, _, pair_rng, control_rng = seed_streams(seed)
    ns, nd = config.state_dim, config.n_distractors
    system = make_system(env_rng, ns)
    w_train = np.stack(
        [
            observation_matrix(system.wc, sample_distractors(env_rng, nd, ns))
            for _ in range(config.n_train_envs)
        ]
    )
    w_test = np.stack(
        [
            observation_matrix(system.wc, sample_distractors(test_rng, nd, ns))
            for _ in range(config.n_test_envs)
        ]
    )
    _, gain, j_star = oracle(system)
    factor, info = None, {}
    if config.method in ("psm", "random-penalty"):
        pairs = psm_pairs(
            system,
            gain,
            w_train[0],
            w_train[1],
            pair_rng,
            rollouts=config.psm_rollouts,
            horizon=config.psm_horizon,
            gamma=config.psm_gamma,
            tol=config.psm_tol,
        )
        same = bool(np.array_equal(pairs.index_x, pairs.index_y))
        info = {
            "n_pairs": len(pairs.index_x),
            "pairs_are_same_state": same
            and len(pairs.index_x) == pairs.psm.shape[0] * (pairs.psm.shape[-1]),
            "pair_residual": pairs.residual,
            "pair_second_moment_trace": float((pairs.factor**2).sum()),
        }
        factor = pairs.factor
        if config.method == "random-penalty":
            _, r = np.linalg.qr((w_train[0] - w_train[1]) @ pairs.factor)
            v = haar_orthogonal(control_rng, nd, ns)
            factor = np.concatenate([np.zeros((ns, ns)), v], 0) @ r
    return SeedData(seed, system, w_train, w_test, j_star, gain, factor, info)


def train_batch(
    config: LQRConfig,
    seeds: Sequence[int],
    *,
    data: Sequence[SeedData] | None = None,
    on_iterations: Callable[[int], None] | None = None,
    checkpoint: Path | None = None,
    checkpoint_every: int = 0,
) -> list[dict]:
    """Train ``config`` for every seed of ``seeds`` at once and evaluate on the test envs.

    Args:
        config: the configuration (method, nd, optimizer, λ, ...).
        seeds: S run seeds, trained as one batch.
        data: precomputed :func:`make_seed_data` for those seeds (else drawn here).
        on_iterations: called with the number of iterations done since the last call.
        checkpoint, checkpoint_every: with a path and ``checkpoint_every > 0``, the loop's
            state (parameters, optimizer moments, iteration, curve, divergence flags) is saved
            there every that many iterations, and a batch that finds a checkpoint of itself
            there (same config, seeds and thread count) continues from it: the results equal
            an uninterrupted run's, bit for bit, on the same machine. The caller deletes it.

    Returns:
        One dict per seed: ``test_error`` (mean over test envs of J_test − J*),
        ``test_errors`` (each test env), ``train_error`` (mean over training envs of
        J_train − J*), ``train_curve`` (every 500 its), norms of the invariant and distractor
        blocks of K, the PSM pair diagnostics, for K = K2 K1 trained by Adam the mean of Adam's
        ``v`` over K1's invariant and distractor columns (``adam_v_invariant``,
        ``adam_v_distractor``), for the penalised methods ``pair_loss = ‖K1 P‖²_F``, and the
        wall time.
    """
    start = time.perf_counter()
    data = list(data) if data is not None else [make_seed_data(config, s) for s in seeds]
    dt = torch.float64 if config.dtype == "float64" else torch.float32
    f64 = torch.float64
    dev = torch.device(config.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {config.device!r}: CUDA is not available")
    ns, n_env, lam = config.state_dim, config.n_train_envs, config.lam
    # host NumPy -> (S, ...) tensors on the training device
    put = lambda xs, dtype: torch.tensor(np.stack(xs), dtype=dtype, device=dev)  # noqa: E731
    a, b, q, r = (put([getattr(d.system, n) for d in data], f64)[:, None] for n in "abqr")
    j_star = put([d.j_star for d in data], f64)
    w_train = put([d.w_train for d in data], dt)  # (S, N, D, ns)
    dim = w_train.shape[-2]
    wcat = torch.cat(list(w_train.unbind(1)), -1)  # (S, D, N ns)
    m_psm = prox = factor = None
    if config.method in ("psm", "random-penalty"):  # the penalty is λ ‖K1 P‖²_F
        factor = put([d.pair_factor for d in data], f64)
        if config.method == "psm":
            factor = (w_train[:, 0] - w_train[:, 1]).to(f64) @ factor  # (S, D, ns)
    if config.penalty == "prox" and lam > 0:
        prox = prox_operator(factor, config.lr * lam, dt)
    elif config.method == "random-penalty":  # its penalty columns ride along with W
        wcat = torch.cat([wcat, factor.to(dt)], -1)
    elif config.method == "psm":
        m_psm = put([d.pair_factor for d in data], dt)

    init_rngs = [seed_streams(d.seed)[2] for d in data]
    if config.method in OVERPARAM:
        h = config.hidden
        k1 = put([init_factor(g, config.init, h, dim) for g in init_rngs], dt)
        k2 = put([init_factor(g, config.init, ns, h) for g in init_rngs], dt)
        # C-contiguous parameters: the Haar factors come out transposed (column-major), and
        # torch's fused CPU Adam silently pairs elements by memory order, not by index,
        # when a parameter's strides differ from its gradient's (found here: it diverged).
        k1 = k1.mul_(config.init_scale).contiguous()
        k2 = k2.mul_(config.init_scale).contiguous()
        params = [k1, k2]
        opts = [Optimizer(config.optimizer, config.lr, params, config.adam_impl)]
    elif config.method == "ipo":
        params = [torch.zeros(len(data), ns, dim, dtype=dt, device=dev) for _ in range(n_env)]
        opts = [Optimizer(config.optimizer, config.lr, [p], config.adam_impl) for p in params]
    else:
        params = [torch.zeros(len(data), ns, dim, dtype=dt, device=dev)]
        opts = [Optimizer(config.optimizer, config.lr, params, config.adam_impl)]

    diverged = torch.zeros(len(data), dtype=torch.bool, device=dev)
    curve: list[list[float]] = []
    done = 0
    first, elapsed = 0, 0.0
    identity = {
        "format": CHECKPOINT_FORMAT,
        "config": dataclasses.asdict(config),
        "seeds": [int(d.seed) for d in data],
        "threads": torch.get_num_threads(),
    }
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=dev, weights_only=False)
        if {k: state.get(k) for k in identity} != identity:
            raise ValueError(f"{checkpoint} was made by another batch; delete it")
        for p, saved in zip(params, state["params"], strict=True):
            p.copy_(saved)
        for opt, saved in zip(opts, state["optimizers"], strict=True):
            opt.load_state_dict(saved)
        diverged.copy_(state["diverged"])
        curve, first, elapsed = state["curve"], int(state["iteration"]), float(state["elapsed"])
    for it in range(first, config.iterations):
        if config.method in OVERPARAM:
            cost = overparam_step(params, opts[0], wcat, m_psm, (a, b, q, r), n_env, ns, lam)
            if prox is not None:
                p_mat, c_mat = prox
                params[0].sub_((params[0] @ p_mat) @ c_mat)
        elif config.method == "ipo":
            cost = ipo_step(params, opts, w_train, (a, b, q, r))
        else:
            cost = l1_step(params[0], opts[0], wcat, (a, b, q, r), n_env, ns, config.l1)
        diverged |= ~torch.isfinite(cost)
        if it % CURVE_EVERY == 0:
            curve.append((cost - j_star).tolist())
        done += 1
        if on_iterations is not None and done >= 50:
            on_iterations(done)
            done = 0
        if checkpoint is not None and checkpoint_every > 0 and (it + 1) % checkpoint_every == 0:
            if it + 1 < config.iterations:
                state = identity | {
                    "params": [p.clone() for p in params],
                    "optimizers": [opt.state_dict() for opt in opts],
                    "diverged": diverged.clone(),
                    "curve": curve,
                    "iteration": it + 1,
                    "elapsed": elapsed + time.perf_counter() - start,
                }
                with atomic_open(checkpoint, "wb") as f:
                    torch.save(state, f)
    if on_iterations is not None and done:
        on_iterations(done)

    k = policy(config.method, params)
    extra = adam_second_moment(opts[0], params[0], ns) if config.method in OVERPARAM else {}
    if factor is not None:  # ‖K1 P‖²_F: the aggregation loss without λ
        extra["pair_loss"] = ((params[0].to(f64) @ factor) ** 2).sum((-1, -2)).cpu()
    system = (a[:, 0], b[:, 0], q[:, 0], r[:, 0])
    w_test = put([d.w_test for d in data], dt)
    errors = test_errors(k, w_test, system, j_star).cpu()
    train = test_errors(k, w_train, system, j_star).cpu()
    k, diverged = k.cpu(), diverged.cpu()
    wall = elapsed + time.perf_counter() - start
    curve_arr = np.array(curve).T if curve else np.zeros((len(data), 0))
    results = []
    for s, d in enumerate(data):
        kd = k[s, :, ns:].to(f64)
        results.append(
            {
                "seed": int(d.seed),
                "test_error": float(errors[s].mean()),
                "test_errors": errors[s].tolist(),
                "train_error": float(train[s].mean()),
                "train_errors": train[s].tolist(),
                "train_curve": curve_arr[s].tolist(),
                "train_curve_every": CURVE_EVERY,
                "j_star": d.j_star,
                "diverged": bool(diverged[s]),
                "norm_k_invariant": float(k[s, :, :ns].to(f64).norm()),
                "norm_k_distractor": float(kd.norm()),
                **d.pair_info,
                **{key: float(v[s]) for key, v in extra.items()},
                "wall_time_s": wall / len(data),
                "batch_wall_time_s": wall,
                "batch_size": len(data),
            }
        )
    return results


def run(config: LQRConfig, seed: int, *, preset: str | None = None) -> dict:
    """Train and evaluate one seed: its record (what ``pisces lqr train`` writes, without the
    command line). Writes nothing, draws nothing."""
    return make_record(config, preset or config.method, train_batch(config, [seed])[0])


def make_record(config: LQRConfig, preset: str, result: dict, command: str | None = None) -> dict:
    """The per-seed JSON record of a :func:`train_batch` result."""
    from pisces.experiments.runs import cpu_model, git_commit

    return {
        "preset": preset,
        "method": config.method,
        "distractors": config.n_distractors,
        "lambda": config.lam,
        "optimizer": config.optimizer,
        **result,
        "config": dataclasses.asdict(config),
        "git_commit": git_commit(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": command,
    }
