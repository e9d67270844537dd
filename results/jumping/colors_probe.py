"""p(JUMP) of a colored-task checkpoint near the jump, red vs green, with and without RandConv.

For the training and the test tasks, at k = 0, 1, 3 steps before the jump, prints the median
p(JUMP) and the fraction of states with p(JUMP) > 0.5, once with the identity kernel and once
over 32 random RandConv kernels (p_identity = 0, the checkpoint's ``rand_conv_rgb``). First it
prints the p(JUMP) that minimises the cross-entropy at a state a colour-blind agent cannot tell
from its other-colour twin, under the class-balanced sampler (spec §6.2: each sample is a JUMP
state or a RIGHT state with probability 1/2): each red jump state is drawn w_J = 1/(2 n_J)
of the time and its green twin (label RIGHT) w_R = 1/(2 n_R), so the minimum is
p* = w_J / (w_J + w_R) = n_R / (n_R + n_J). Used for Table G.1's RandConv rows (COMMANDS.md,
sessions 13 and 14):

    OMP_NUM_THREADS=1 .venv/bin/python results/jumping/colors_probe.py \\
        results/jumping/randconv-colors-wide/seed-001.pt
"""

import sys

import numpy as np
import torch

from pisces.envs.jumping import ALL_TASKS
from pisces.experiments.jumping.checkpoint import load_checkpoint
from pisces.experiments.jumping.data import build_data
from pisces.networks.randconv import sample_kernels

torch.set_num_threads(1)
path = sys.argv[1]
net, cfg = load_checkpoint(path)
data = build_data(cfg, 1, "cpu")
p = torch.as_tensor(ALL_TASKS[data.eval_task.numpy(), 0])
k = p - 14 - data.eval_time  # steps to the jump
split = np.asarray(data.split)[data.eval_task.numpy()]
gen = torch.Generator().manual_seed(0)
c = cfg.rand_conv_channels
print(path, cfg.preset, "rand_conv_rgb", cfg.rand_conv_rgb, "channels", c, end=" ")
print("colors_input", cfg.colors_input)
n_j, n_r = len(data.jump_index), len(data.right_index)
print(
    f"balanced sampler: {n_j} JUMP and {n_r} RIGHT training states; a colour-blind agent's "
    f"cross-entropy minimum at the aliased jump state is p(JUMP) = {n_r / (n_r + n_j):.4f}"
)
for name in ("train", "test"):
    tasks = torch.as_tensor(split == name)
    for kk in (0, 1, 3):
        for ci, color in enumerate(data.colors):
            x = data.eval_inputs[tasks & (k == kk) & (data.eval_color == ci)]
            x = x.float() * 0.5 if x.dtype == torch.uint8 else x.float()
            zero = torch.zeros(len(x), dtype=torch.long)
            with torch.no_grad():
                pid = torch.softmax(net(x), -1)[:, 1]
                prc = torch.stack([
                    torch.softmax(net(x, kernels=sample_kernels(
                        1, generator=gen, channels_per_frame=c, p_identity=0.0
                    ), group_index=zero), -1)[:, 1]
                    for _ in range(32)
                ])  # fmt: skip
            print(
                f"{name:5s} k={kk} {color:5s} n={len(x):3d}  identity p(jump) median "
                f"{pid.median():.3f} frac>0.5 {(pid > 0.5).float().mean():.2f} | randconv "
                f"p(jump) median {prc.median():.3f} frac>0.5 {(prc > 0.5).float().mean():.2f}"
            )
