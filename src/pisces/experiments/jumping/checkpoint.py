"""Model checkpoints of jumping-task runs: ``seed-<s>.pt`` beside ``seed-<s>.json``.

``pisces jumping train ... --save-model`` writes, for every seed it trains (per-seed,
``--workers`` and ``--ensemble`` paths alike), a ``seed-<s>.pt`` **before** the seed's JSON, both
atomically (temporary file in the same folder, fsync, :func:`os.replace`), so a finished seed
(its JSON exists) trained with ``--save-model`` always has its checkpoint. A checkpoint is a
:func:`torch.save` dict of plain tensors and JSON-like values (loadable with
``weights_only=True``)::

    format          "pisces-jumping-checkpoint"
    version         1
    state_dict      JumpingNetwork.state_dict() on the CPU (~4.3 MB of float32)
    in_channels     2 (two grey frames) or 6 (two RGB frames, colored task)
    config          JumpingConfig.to_dict()
    seed, epoch, step, test_solved_pct, git_commit, torch

An ``--ensemble`` member is saved from its own network after the final
:meth:`~pisces.experiments.jumping.trainer.EnsembleTrainer.sync_members`, so the file is a
plain per-seed :class:`~pisces.networks.jumping.JumpingNetwork`: load it with
:func:`load_checkpoint` whichever path trained it.

Checkpoints are not written by default: runs are committed to git and a checkpoint is ~4 MB
(``results/**/*.pt`` is git-ignored).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from pisces.experiments.jumping.config import JumpingConfig
from pisces.experiments.runs import atomic_open
from pisces.networks.jumping import JumpingNetwork

FORMAT = "pisces-jumping-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a jumping checkpoint, or whose network does not fit the architecture."""


def checkpoint_path(out: Path, seed: int) -> Path:
    """``out/seed-<s>.pt`` (the checkpoint beside ``seed-<s>.json``)."""
    return Path(out) / f"seed-{int(seed):03d}.pt"


def save_checkpoint(
    path: Path,
    net: JumpingNetwork,
    cfg: JumpingConfig,
    *,
    seed: int,
    epoch: int,
    step: int | None = None,
    test_solved_pct: float | None = None,
    git_commit: str | None = None,
) -> Path:
    """Write ``net``'s parameters with the run's config and provenance to ``path``, atomically.

    The state dict is copied to the CPU (a CUDA-trained network loads anywhere).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "state_dict": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        "in_channels": int(net.encoder.in_channels),
        "config": cfg.to_dict(),
        "seed": int(seed),
        "epoch": int(epoch),
        "step": None if step is None else int(step),
        "test_solved_pct": None if test_solved_pct is None else float(test_solved_pct),
        "git_commit": git_commit,
        "torch": str(torch.__version__),
    }
    with atomic_open(path, "wb") as f:
        torch.save(record, f)
    return path


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The raw checkpoint dict of ``path`` (CPU tensors), checked to be a jumping checkpoint.

    Raises:
        FileNotFoundError: no such file (the message says how checkpoints are made).
        CheckpointError: not a ``torch.save`` file, or not a jumping checkpoint of a known
            version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint {path}: checkpoints are written by "
            "`pisces jumping train ... --save-model` as <out>/seed-<s>.pt"
        )
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle / zip errors of a foreign or truncated file
        raise CheckpointError(f"{path} is not a readable torch checkpoint: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a pisces jumping checkpoint (no format {FORMAT!r})")
    if record.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {record.get('version')!r}; this pisces reads "
            f"version {VERSION}"
        )
    return record


def config_from_dict(values: dict[str, Any], *, source: str = "checkpoint") -> JumpingConfig:
    """A validated :class:`JumpingConfig` from a saved ``to_dict()``.

    A field missing from an older file takes its default (like the resume check of
    ``pisces jumping train``); a field this version does not know is an error.
    """
    names = {f.name for f in dataclasses.fields(JumpingConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise CheckpointError(
            f"{source}: config field(s) {unknown} unknown to this pisces (made by a newer version?)"
        )
    try:
        return JumpingConfig(**values)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source}: invalid config: {exc}") from exc


def load_checkpoint(
    path: Path, device: torch.device | str = "cpu"
) -> tuple[JumpingNetwork, JumpingConfig]:
    """The network (in ``eval()`` mode, on ``device``) and config saved in ``path``.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: not a jumping checkpoint, or its tensors do not fit
            :class:`~pisces.networks.jumping.JumpingNetwork` (missing, unexpected or
            differently shaped parameters are named).
    """
    record = read_checkpoint(path)
    cfg = config_from_dict(record["config"], source=str(path))
    state = record["state_dict"]
    net = JumpingNetwork(
        torch.Generator().manual_seed(0),
        in_channels=int(record["in_channels"]),
        dropout=cfg.dropout,
        layout=cfg.network_layout,
        fast_kernels=cfg.amp_bf16,
    )
    expected = net.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs network {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if unexpected:
            parts.append(f"unexpected {unexpected}")
        if shapes:
            parts.append("shape mismatch " + "; ".join(shapes))
        raise CheckpointError(
            f"{path} does not fit the jumping network "
            f"(in_channels={record['in_channels']}): " + ", ".join(parts)
        )
    net.load_state_dict(state, strict=True)
    return net.to(device).eval(), cfg
