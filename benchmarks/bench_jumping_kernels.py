"""The kernel floor of a bf16 jumping-task train step: each matrix layer alone, fwd + bwd.

Issue 13 asks for a randconv-pse step at ≥ 0.30 of the bf16 matmul peak on one thread. This
benchmark asks whether stock kernels can get there at all: it times every layer that carries
the step's FLOPs, as the bf16 fast path runs it (autocast, fp32 master weights, batch 368 =
256 cross-entropy samples + 2 × 56 trajectory states, channels-last), forward alone and
forward + backward (the gradients the step needs: conv 1 has no input gradient), and compares
each with the 2048² bf16 ``torch.mm`` peak measured in the same run. The sum of the layers'
fwd + bwd times is a floor for the step: every elementwise pass (RandConv, ReLU, the loss,
Adam) comes on top. If the floor alone exceeds the goal's step time, the goal needs faster
convolution kernels than oneDNN's at these shapes, not less overhead around them.

Layers (shapes of the wide-grid network, spec §5):

* conv 1 as the fast path computes it (:func:`~pisces.networks.jumping.space_to_depth_conv`:
  the 2-channel 8×8/4 convolution as a 2×2/1 one over 32 channels of 4×4 blocks), timed with
  its blocking copy and without it (on a pre-blocked input);
* conv 2, 64 ← 32, 4×4/2, on the padded 18×18 map; conv 3, 64 ← 64, 3×3/1, padded in-conv;
* the Dense 4096 → 256 layer; the heads (256 → 2, 256 → 64) are < 1 % of the FLOPs, left out.

Then the three weight gradients, oneDNN's against im2col + one bf16 ``mm``, against one
``mm`` per kernel tap on shifted views (no copy of the input), and against a forward
convolution with batch and channels swapped; and conv 2's input gradient (its only strided
backward pass), oneDNN's against a stride-1 forward convolution of the padded gradient with
the flipped space-to-depth kernel.

Usage::

    .venv/bin/python benchmarks/bench_jumping_kernels.py [--reps 21] [--out FILE.md]

Time it on an idle machine (``uptime`` is printed; pause background runs with SIGSTOP).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

BATCH = 368
STEP_GFLOP = 14.2  # bench_jumping_train.py's analytic count of a randconv-pse step (3 × fwd)
GOAL = 0.30


def median_ms(fn: Callable[[], object], reps: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return 1e3 * times[len(times) // 2]


def weight_gradient_alternatives(reps: int) -> list[tuple[str, float, float, float, float]]:
    """(layer, oneDNN ms, im2col + mm ms, per-tap mm ms, swapped-role conv ms) for the three
    conv weight
    gradients, each alternative checked against oneDNN's to bf16 rounding (2 % of its largest
    entry)."""
    import torch

    gen = torch.Generator().manual_seed(1)
    cases = (  # name, C_in, C_out, kernel, input size (padded), output size
        ("conv 1 (space-to-depth: 2×2 over 32 channels)", 32, 32, 2, 16, 15),
        ("conv 2 (space-to-depth: 2×2 over 128 channels)", 128, 64, 2, 9, 8),
        ("conv 3 (3×3 over 64 channels)", 64, 64, 3, 10, 8),
    )
    return [_weight_gradient_times(*case, reps, gen) for case in cases]


def _weight_gradient_times(name, ci, co, k, size, n, reps, gen) -> tuple[str, float, ...]:
    import torch
    from torch.nn import functional as F

    bf, cl = torch.bfloat16, torch.channels_last
    x = torch.randn(BATCH, ci, size, size, generator=gen).to(bf).contiguous(memory_format=cl)
    w = torch.randn(co, ci, k, k, generator=gen).to(bf).requires_grad_()
    g = torch.randn(BATCH, co, n, n, generator=gen).to(bf).contiguous(memory_format=cl)
    xl = x.permute(0, 2, 3, 1)  # (B, H, W, C_in), contiguous
    sb, sh, sw, sc = xl.stride()
    gl = g.permute(0, 2, 3, 1).reshape(BATCH * n * n, co)

    def native() -> None:
        torch.autograd.grad(F.conv2d(x, w), w, g)

    def forward() -> None:
        with torch.no_grad():
            F.conv2d(x, w)

    def im2col() -> torch.Tensor:
        cols = xl.as_strided((BATCH, n, n, k, k, ci), (sb, sh, sw, sh, sw, sc))
        dw = gl.t() @ cols.reshape(BATCH * n * n, k * k * ci)
        return dw.view(co, k, k, ci).permute(0, 3, 1, 2)

    flat_x = xl.reshape(BATCH * size * size, ci)
    length = BATCH * size * size - (k - 1) * (size + 1)

    def per_tap() -> torch.Tensor:
        # the upstream gradient on the padded size × size grid, zero outside its n × n: then
        # output position p meets input position p + u·size + v for tap (u, v), wrap-free
        gp = torch.zeros(BATCH, size, size, co, dtype=bf)
        gp[:, :n, :n] = g.permute(0, 2, 3, 1)
        gt = gp.view(-1, co)[:length].t()
        dw = torch.empty(k, k, co, ci, dtype=bf)
        for u in range(k):
            for v in range(k):
                shift = u * size + v
                torch.mm(gt, flat_x[shift : shift + length], out=dw[u, v])
        return dw.permute(2, 3, 0, 1)

    def swapped() -> torch.Tensor:
        xs = x.permute(1, 0, 2, 3).contiguous(memory_format=cl)  # (C_in, B, H, W)
        gs = g.permute(1, 0, 2, 3).contiguous(memory_format=cl)  # (C_out, B, n, n)
        return F.conv2d(xs, gs).permute(1, 0, 2, 3)

    (want,) = torch.autograd.grad(F.conv2d(x, w), w, g)
    scale = want.float().abs().max()
    for alt in (im2col, per_tap, swapped):
        err = (alt().float() - want.float()).abs().max() / scale
        if err > 0.02:
            raise AssertionError(f"{name}: {alt.__name__} is off by {err:.3f}")
    t_native = median_ms(native, reps) - median_ms(forward, reps)
    t_im2col, t_tap, t_swapped = (median_ms(f, reps) for f in (im2col, per_tap, swapped))
    print(
        f"{name}: oneDNN {t_native:.2f}, im2col {t_im2col:.2f}, per-tap {t_tap:.2f}, "
        f"swapped {t_swapped:.2f} ms"
    )
    return name, t_native, t_im2col, t_tap, t_swapped


def conv2_input_gradient_alternative(reps: int) -> tuple[float, float, float]:
    """(oneDNN ms, forward-conv form ms, its convolution alone ms) for conv 2's input gradient.

    The gradient of ``y = conv(x̃, W, stride 2)`` (x̃: the padded 18×18 map, W: 64 × 32 × 4 ×
    4) with respect to x̃, in space-to-depth terms ``S[(a, b, c), I, J] = x̃[c, 2I + a, 2J + b]``,
    is ``dS[(a, b, c), I, J] = Σ_{o, p, q} W[o, c, 2p + a, 2q + b] · dy[o, I − p, J − q]``: a
    stride-1 2×2 forward convolution of ``dy`` zero-padded by one, with the regrouped kernel
    flipped and transposed (128 outputs ← 64 inputs), then a depth-to-space copy back to 18×18.
    Checked against oneDNN's to bf16 rounding."""
    import torch
    from torch.nn import functional as F

    bf, cl = torch.bfloat16, torch.channels_last
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(BATCH, 32, 18, 18, generator=gen).to(bf).contiguous(memory_format=cl)
    w = (torch.randn(64, 32, 4, 4, generator=gen) * 0.1).to(bf)
    dy = torch.randn(BATCH, 64, 8, 8, generator=gen).to(bf).contiguous(memory_format=cl)
    regrouped = w.reshape(64, 32, 2, 2, 2, 2).permute(0, 3, 5, 1, 2, 4).reshape(64, 128, 2, 2)
    flipped = regrouped.flip(2, 3).transpose(0, 1).contiguous()  # (128, 64, 2, 2)

    def native() -> torch.Tensor:
        return torch.ops.aten.convolution_backward(
            dy, x, w, [64], [2, 2], [0, 0], [1, 1], False, [0, 0], 1, [True, False, False]
        )[0]

    def conv_only() -> torch.Tensor:
        return F.conv2d(dy, flipped, None, 1, 1)  # (B, 128, 9, 9): channels (a, b, c)

    def forward_form() -> torch.Tensor:
        ds = conv_only().permute(0, 2, 3, 1).reshape(BATCH, 9, 9, 2, 2, 32)
        return ds.permute(0, 1, 3, 2, 4, 5).reshape(BATCH, 18, 18, 32).permute(0, 3, 1, 2)

    want = native().float()
    err = (forward_form().float() - want).abs().max() / want.abs().max()
    if err > 0.02:
        raise AssertionError(f"conv 2 input gradient: the forward-conv form is off by {err:.3f}")
    times = tuple(median_ms(f, reps) for f in (native, forward_form, conv_only))
    print(
        "conv 2 input gradient: oneDNN {:.2f}, forward form {:.2f} (conv {:.2f}) ms".format(*times)
    )
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch
    from torch.nn import functional as F

    from pisces.experiments.runs import cpu_model
    from pisces.networks.jumping import JumpingEncoder, space_to_depth_conv

    torch.set_num_threads(1)
    bf = torch.bfloat16
    load_before = os.getloadavg()
    a = torch.rand(2048, 2048).to(bf)
    peak = 2 * 2048**3 / median_ms(lambda: a @ a, args.reps) / 1e6  # GFLOP/s
    a32 = torch.rand(2048, 2048)
    peak32 = 2 * 2048**3 / median_ms(lambda: a32 @ a32, max(5, args.reps // 3)) / 1e6

    gen = torch.Generator().manual_seed(0)
    enc = JumpingEncoder(2, fast_kernels=True)
    conv1, conv2, conv3 = enc.convs
    dense = enc.dense
    (lo1, hi1), (lo2, hi2), (lo3, _) = enc.pads
    cl = torch.channels_last
    obs = torch.rand(BATCH, 60, 60, 2, generator=gen)
    x1 = obs.permute(0, 3, 1, 2)
    blocked = (
        F.pad(obs, (0, 0, lo1, hi1, lo1, hi1))
        .view(BATCH, 16, 4, 16, 4, 2)
        .permute(0, 1, 3, 2, 4, 5)
        .to(bf, memory_format=torch.contiguous_format, copy=True)
        .view(BATCH, 16, 16, 32)
        .permute(0, 3, 1, 2)
    )
    x2 = torch.rand(BATCH, 32, 15, 15, generator=gen).to(bf).contiguous(memory_format=cl)
    x3 = torch.rand(BATCH, 64, 8, 8, generator=gen).to(bf).contiguous(memory_format=cl)
    x4 = torch.rand(BATCH, 4096, generator=gen).to(bf)

    def w1_blocked() -> torch.Tensor:
        o, c, m, r = 32, 2, 2, 4
        w = conv1.weight.reshape(o, c, m, r, m, r).permute(0, 3, 5, 1, 2, 4)
        return w.reshape(o, r * r * c, m, m)

    def layer(fwd: Callable[[torch.Tensor | None], torch.Tensor], x: torch.Tensor | None):
        """(forward only, forward + backward) callables; backward by a fixed upstream grad."""

        def run_fwd() -> None:
            with torch.no_grad(), torch.autocast("cpu", bf):
                fwd(x)

        def run_both() -> None:
            xi = x.detach().requires_grad_() if x is not None else None
            with torch.autocast("cpu", bf):
                y = fwd(xi)
            y.backward(torch.ones_like(y))

        return run_fwd, run_both

    # (name, GFLOP of one forward, fwd fn, input, backward multiple of the forward FLOPs)
    o1 = 2 * BATCH * 32 * 15 * 15 * 2 * 8 * 8 / 1e9
    o2 = 2 * BATCH * 64 * 8 * 8 * 32 * 4 * 4 / 1e9
    o3 = 2 * BATCH * 64 * 8 * 8 * 64 * 3 * 3 / 1e9
    o4 = 2 * BATCH * 4096 * 256 / 1e9
    rows = [
        (
            "conv 1, space-to-depth incl. blocking copy",
            o1,
            1,
            lambda x: space_to_depth_conv(x1, conv1, (lo1, hi1), bf),
            None,
        ),
        (
            "conv 1, space-to-depth conv only",
            o1,
            1,
            lambda x: F.conv2d(blocked, w1_blocked(), conv1.bias),
            None,
        ),
        (
            "conv 2, 4×4/2 on the padded 18×18 map",
            o2,
            2,
            lambda x: F.conv2d(F.pad(x, (lo2, hi2, lo2, hi2)), conv2.weight, conv2.bias, 2),
            x2,
        ),
        (
            "conv 3, 3×3/1 padded in-conv",
            o3,
            2,
            lambda x: F.conv2d(x, conv3.weight, conv3.bias, 1, lo3),
            x3,
        ),
        ("Dense 4096 → 256", o4, 2, lambda x: dense(x), x4),
    ]
    results = []
    for name, gf, bwd_mult, fwd, x in rows:
        run_fwd, run_both = layer(fwd, x)
        tf = median_ms(run_fwd, args.reps)
        tb = median_ms(run_both, args.reps)
        total = gf * (1 + bwd_mult)
        results.append((name, gf, total, tf, tb))
        print(f"{name}: fwd {tf:.2f} ms, fwd+bwd {tb:.2f} ms, {total / tb * 1e3:.0f} GFLOP/s")
    alternatives = weight_gradient_alternatives(args.reps)
    input_gradient = conv2_input_gradient_alternative(args.reps)
    load_after = os.getloadavg()

    goal_ms = STEP_GFLOP / (GOAL * peak) * 1e3
    counted = [r for r in results if "conv only" not in r[0]]
    floor_ms = sum(r[4] for r in counted)
    floor_gf = sum(r[2] for r in counted)
    torch_build = f"{torch.__version__} (oneDNN: {torch.backends.mkldnn.is_available()})"
    lines = [
        "# Kernel floor of a bf16 randconv-pse train step (issue 13's 0.30-of-peak goal)",
        "",
        f"- command: `.venv/bin/python benchmarks/bench_jumping_kernels.py --reps {args.reps}"
        + (f" --out {args.out}`" if args.out else "`"),
        f"- CPU: {cpu_model()}; {platform.machine()}; torch {torch_build}; 1 thread; "
        f"batch {BATCH}; bf16 autocast, fp32 master weights, channels-last",
        f"- load before / after: {load_before} / {load_after} (`uptime`: "
        f"{subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()})",
        f"- matmul peak, 2048² `torch.mm`, one thread: bf16 **{peak:.0f} GFLOP/s**, "
        f"fp32 {peak32:.0f} GFLOP/s",
        "",
        "| layer | GFLOP fwd | GFLOP fwd+bwd | fwd ms | fwd GFLOP/s | fwd+bwd ms "
        "| fwd+bwd GFLOP/s | of bf16 peak |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, gf, total, tf, tb in results:
        lines.append(
            f"| {name} | {gf:.2f} | {total:.2f} | {tf:.2f} | {gf / tf * 1e3:.0f} | {tb:.2f} "
            f"| {total / tb * 1e3:.0f} | {total / tb * 1e3 / peak:.2f} |"
        )
    lines += [
        "",
        f"Floor (the layers above with conv 1's blocking copy, fwd + bwd, nothing else): "
        f"**{floor_ms:.1f} ms** for {floor_gf:.1f} GFLOP "
        f"({floor_gf / floor_ms * 1e3:.0f} GFLOP/s = {floor_gf / floor_ms * 1e3 / peak:.2f} of "
        f"the bf16 peak). The goal, {GOAL:.2f} of the peak for the {STEP_GFLOP} GFLOP step, "
        f"is a step of **{goal_ms:.1f} ms**: the layers alone use "
        f"{floor_ms / goal_ms:.0%} of it, before any elementwise pass, loss or optimizer step.",
        "",
        "## Weight gradients: oneDNN against three compositions of stock ops",
        "",
        "The same gradient ∂L/∂W for a fixed upstream gradient (bf16 inputs, stride 1; convs",
        "1 and 2 in their space-to-depth form), four ways: oneDNN's (autograd through",
        "`F.conv2d`, its forward time subtracted); im2col as an `as_strided` view copied to a",
        "(positions × taps) matrix, then one bf16 `mm`; one `mm` per kernel tap, the upstream",
        "gradient zero-padded to the input's grid so that each tap's input is a contiguous",
        "shifted view of the flat (positions × C_in) map (no copy, some products on zeros); and",
        "a forward convolution with batch and channels swapped (input (C_in, B, H, W), the",
        "upstream gradient as its kernel).",
        "",
        "| weight gradient of | oneDNN ms | im2col + mm ms | per-tap mm ms "
        "| swapped-role conv ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, native, im2col, tap, swapped in alternatives:
        lines.append(f"| {name} | {native:.2f} | {im2col:.2f} | {tap:.2f} | {swapped:.2f} |")
    native_dx, form_dx, conv_dx = input_gradient
    lines += [
        "",
        "## Conv 2's input gradient: oneDNN against a stride-1 forward convolution",
        "",
        "Conv 2 (4×4, stride 2) is the one convolution whose input gradient is strided (conv 1",
        "needs none, conv 3's is stride 1). The same ∂L/∂x̃ as a stride-1 2×2 forward",
        "convolution of the upstream gradient, zero-padded by one, with the space-to-depth",
        "kernel flipped (128 ← 64 channels), then a depth-to-space copy to the 18×18 map",
        "(`conv2_input_gradient_alternative`): oneDNN "
        f"**{native_dx:.2f} ms**, the forward form **{form_dx:.2f} ms** (its convolution alone "
        f"{conv_dx:.2f}): {native_dx - form_dx:.2f} ms less.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
