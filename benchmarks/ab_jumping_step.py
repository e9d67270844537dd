"""A/B of one jumping-task train step between two commits: its time, and whether it is the same.

Run it once per commit, alternating, from pinned worktrees (``PYTHONPATH`` picks the code)::

    for r in 1 2 3; do for c in old new; do
      PYTHONPATH=../pin-$c/src OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ab_jumping_step.py \
          --preset randconv-pse --precision bf16 --label $c --save /tmp/ab-$c.pt
    done; done
    .venv/bin/python benchmarks/ab_jumping_step.py --compare /tmp/ab-old.pt /tmp/ab-new.pt

Each run prints the median of ``--steps`` timed ``learner.update()`` calls after 5 warm-up
steps and the minor page faults a step over them (seed 3, one thread, glibc keeping freed
memory as ``jumping train`` does, where the commit has it) and, with
``--save``, stores the losses of the first 3 steps and the weights after them; ``--compare``
says whether two such files are bit-identical. Time on an idle machine (pause background runs
with SIGSTOP).
"""

from __future__ import annotations

import argparse
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="randconv-pse")
    parser.add_argument("--grid", default="wide")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="bf16")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--label", default="")
    parser.add_argument("--save", default=None, help="file for the 3 steps' losses and weights")
    parser.add_argument("--compare", nargs=2, default=None, metavar=("A", "B"))
    args = parser.parse_args()

    import torch

    if args.compare:
        a, b = (torch.load(p) for p in args.compare)
        same_losses = torch.equal(a["losses"], b["losses"])
        same_weights = all(
            torch.equal(x, y) for x, y in zip(a["weights"], b["weights"], strict=True)
        )
        print(f"losses identical: {same_losses}; weights identical: {same_weights}")
        return

    from pisces.experiments.jumping.config import make_config
    from pisces.experiments.jumping.trainer import JumpingTrainer

    torch.set_num_threads(1)
    try:  # from 088c0b2; an older commit runs with glibc's defaults
        from pisces.experiments.runs import keep_freed_memory
    except ImportError:
        print("(this commit has no keep_freed_memory: glibc malloc defaults)")
    else:
        keep_freed_memory()
    overrides = dict(kv.split("=", 1) for kv in args.set)
    cfg = make_config(args.preset, args.grid, epochs=1, log_every=1, eval_mc_passes=1, **overrides)
    cfg = cfg.replace(amp_bf16=args.precision == "bf16")
    learner = JumpingTrainer(cfg, 3).learner
    losses = torch.stack([learner.update() for _ in range(3)])
    if args.save:
        weights = [p.detach().clone() for p in learner.net.parameters()]
        torch.save({"losses": losses, "weights": weights}, args.save)
    for _ in range(2):
        learner.update()
    times = []
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(args.steps):
        start = time.perf_counter()
        learner.update()
        times.append(time.perf_counter() - start)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / args.steps
    times.sort()
    print(
        f"{args.label} {args.preset} {args.precision}: {1e3 * times[len(times) // 2]:.1f} ms, "
        f"{faults:.0f} minor page faults a step"
    )


if __name__ == "__main__":
    main()
