"""The two checks of pse-audit.md / pse-gap.md §5 that were rerun by hand, as a command.

    .venv/bin/python results/jumping/pse_audit_checks.py [CHECKPOINT ...]

1. Zero-PSM negatives: over the 306 ordered pairs of the wide grid's 18 training trajectories,
   the share of anchors (rows) whose other trajectory holds states at PSM 0 besides the
   positive, and how many (float32 PSM, gamma 0.999, as training uses it).
2. For each CHECKPOINT (a mid-run ``.seed-<s>.midrun.pt`` of a `pse` run, or a
   ``--save-model`` ``seed-<s>.pt``): dead units and all-zero rows of the projection and the
   representation on the 1008 training states (network in eval mode, no RandConv).
"""

import sys

import numpy as np
import torch

from pisces.envs.jumping import ALL_TASKS, optimal_actions, task_split
from pisces.experiments.jumping.config import make_config
from pisces.experiments.jumping.trainer import JumpingTrainer
from pisces.metrics.trajectory import trajectory_psm

torch.set_num_threads(1)
train = ALL_TASKS[task_split("wide", None, no_validation=True) == "train"]
acts = np.stack([optimal_actions(int(p)) for p, _ in train])
cost = (acts[:, None, :, None] != acts[None, :, None, :]).astype(np.float64)
d = trajectory_psm(cost, gamma=0.999).astype(np.float32)
extra = np.concatenate(
    [(d[i, j] == 0).sum(1) - 1 for i in range(len(train)) for j in range(len(train)) if i != j]
)
print(
    f"anchors {extra.size}: {100 * (extra > 0).mean():.1f} % have zero-PSM negatives; "
    f"{extra[extra > 0].mean():.1f} of them on average there, {extra.mean():.1f} over all anchors"
)
for path in sys.argv[1:]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    net_state = state["trainer"]["net"] if "trainer" in state else state["state_dict"]
    trainer = JumpingTrainer(make_config("pse"), 1)
    trainer.net.load_state_dict(net_state)
    trainer.net.eval()
    with torch.no_grad():
        h = trainer.net.encoder(trainer.data.train_obs)
        z = trainer.net.projection(h)
    for name, x in (("projection", z), ("representation", h)):
        print(
            f"{path}: {name}: {int((x == 0).all(0).sum())} of {x.shape[1]} units dead, "
            f"{int((x.abs().sum(1) == 0).sum())} of {x.shape[0]} states all-zero"
        )
