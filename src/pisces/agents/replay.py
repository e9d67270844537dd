r"""Replay buffer of single uint8 frames with frame-stack indices (spec dcs §2, §6).

Stored: one RGB frame per environment step in a ring of ``N = capacity + S`` slots
(``S`` = frame stack, 3), never stacked observations: 100k stacked ``obs`` + ``next_obs`` of
9 × 84 × 84 uint8 would take 12.7 GB (6.35 GB each, spec dcs §6); the ring of 3 × 84 × 84
frames takes 2.1 GB.

Slots. An episode writes its first frame ``f_0`` (:meth:`FrameReplay.start_episode`) and then one
frame per step (:meth:`FrameReplay.add`); slot ``k`` keeps the frame, its position ``t_k`` in
the episode (0 for the first), and the step that produced it: ``action[k]``, ``reward[k]`` and
``discount[k] = 0`` if the episode **terminated** there, else 1 (time-limit truncation keeps 1;
DMC episodes only truncate). Slot ``k`` with ``t_k ≥ 1`` is the transition
``(o_{t-1}, a, r, d, o_t)``, with the stacked observation at slot ``k`` (oldest frame first)::

    o(k) = concat_{i = 0..S-1} frame[k - min(S - 1 - i, t_k)]          (channels S · 3)

so the first observation of an episode repeats its first frame (``FrameStack`` at reset) and a
stack never reaches into the previous episode. ``o_{t-1}`` is ``o(k - 1)``.

Sampling (:meth:`FrameReplay.sample`): uniform over the sampleable slots, i.e. transitions
(``t_k ≥ 1``) among the ``capacity`` most recent slots; their stacks reach at most ``S`` slots
further back, all of them still in the ring (never across the write head). Indices are drawn
from an explicit :class:`torch.Generator` on the buffer's device; the host keeps only counters
(no device sync per step).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch


class Transitions(NamedTuple):
    """A batch of transitions (what :meth:`SACDrQAgent.update` reads).

    Attributes:
        obs: uint8 (B, S·C, H, W) stacked observations, oldest frame first.
        action: float32 (B, |A|).
        reward: float32 (B,).
        next_obs: uint8 (B, S·C, H, W).
        discount: float32 (B,): 0 where the episode terminated, else 1 (not γ).
    """

    obs: torch.Tensor
    action: torch.Tensor
    reward: torch.Tensor
    next_obs: torch.Tensor
    discount: torch.Tensor


class FrameReplay:
    """Ring of single frames with frame-stack indices (see the module docstring).

    Args:
        capacity: number of most recent slots that can be sampled (≈ transitions; the paper's
            replay capacity is 100k, Table I.2).
        action_dim: |A|.
        frame_shape: one frame (C, H, W), uint8 (RGB 84 × 84: (3, 84, 84)).
        frame_stack: S frames per observation (3).
        device: where the ring lives and batches are sampled.
    """

    def __init__(
        self,
        capacity: int,
        action_dim: int,
        *,
        frame_shape: tuple[int, int, int] = (3, 84, 84),
        frame_stack: int = 3,
        device: torch.device | str = "cpu",
    ) -> None:
        for name, v in (("capacity", capacity), ("action_dim", action_dim)):
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if not (isinstance(frame_stack, int) and frame_stack >= 1):
            raise ValueError(f"frame_stack must be an int >= 1, got {frame_stack!r}")
        if len(frame_shape) != 3 or min(frame_shape) < 1:
            raise ValueError(f"frame_shape must be (C, H, W), got {frame_shape}")
        self.capacity = capacity
        self.action_dim = action_dim
        self.frame_shape = tuple(int(s) for s in frame_shape)
        self.frame_stack = frame_stack
        self.device = torch.device(device)
        n = capacity + frame_stack
        self.num_slots = n
        self.frames = torch.zeros((n, *self.frame_shape), dtype=torch.uint8, device=self.device)
        self.action = torch.zeros((n, action_dim), dtype=torch.float32, device=self.device)
        self.reward = torch.zeros(n, dtype=torch.float32, device=self.device)
        self.discount = torch.ones(n, dtype=torch.float32, device=self.device)
        self.position = torch.zeros(n, dtype=torch.int64, device=self.device)
        self.valid = torch.zeros(n, dtype=torch.bool, device=self.device)
        # Host mirrors (plain counters; what add() needs without reading the device).
        self._valid_host = np.zeros(n, dtype=bool)
        self._head = 0  # next slot to write
        self._written = 0  # slots written in total
        self._num_valid = 0
        self._episode_pos: int | None = None  # position of the last frame; None: no episode

    # ------------------------------------------------------------------ writing
    def _frame(self, frame: torch.Tensor | np.ndarray) -> torch.Tensor:
        f = torch.as_tensor(frame)
        c, h, w = self.frame_shape
        if f.dim() == 3 and f.shape[0] == c * self.frame_stack and f.shape[1:] == (h, w):
            f = f[-c:]  # a stacked observation: keep its newest frame
        if tuple(f.shape) != self.frame_shape:
            raise ValueError(
                f"frame must be {self.frame_shape} (or a stack {(c * self.frame_stack, h, w)}), "
                f"got {tuple(f.shape)}"
            )
        if f.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8, got {f.dtype}")
        return f

    def _write(self, frame: torch.Tensor, pos: int, valid: bool) -> int:
        k = self._head
        self.frames[k].copy_(frame, non_blocking=True)
        self.position[k] = pos
        self.valid[k] = valid
        self._valid_host[k] = valid
        self._num_valid += int(valid)
        self._head = (k + 1) % self.num_slots
        self._written += 1
        # The slot that just turned `capacity` steps old leaves the sampleable window.
        if self._written > self.capacity:
            old = (k - self.capacity) % self.num_slots
            if self._valid_host[old]:
                self._valid_host[old] = False
                self._num_valid -= 1
                self.valid[old] = False
        return k

    def start_episode(self, first_frame: torch.Tensor | np.ndarray) -> None:
        """Begin an episode with its first frame (C, H, W) uint8 (or its reset stack (S·C, H, W),
        whose newest frame is kept). The previous episode, if any, is closed."""
        self._write(self._frame(first_frame), 0, False)
        self._episode_pos = 0

    def add(
        self,
        action: torch.Tensor | np.ndarray,
        reward: float | torch.Tensor,
        next_frame: torch.Tensor | np.ndarray,
        terminated: bool,
        truncated: bool,
    ) -> None:
        """Append one step ``(a, r, f_{t+1})`` of the current episode.

        Args:
            action: (|A|,) the action taken (in [-1, 1]).
            reward: the reward (a float or 0-d tensor; tensors stay on the device).
            next_frame: (C, H, W) uint8 frame of the next observation (or its stack).
            terminated: a true termination: the stored discount is 0.
            truncated: a time limit: the discount stays 1. Either flag ends the episode, and
                the next call must be :meth:`start_episode`.
        """
        if self._episode_pos is None:
            raise RuntimeError("add() before start_episode(): every episode begins with its frame")
        frame = self._frame(next_frame)
        a = torch.as_tensor(action, dtype=torch.float32)
        if a.shape != (self.action_dim,):
            raise ValueError(f"action must be ({self.action_dim},), got {tuple(a.shape)}")
        pos = self._episode_pos + 1
        k = self._write(frame, pos, True)
        self.action[k].copy_(a, non_blocking=True)
        r = torch.as_tensor(reward, dtype=torch.float32)
        self.reward[k] = r.to(self.device) if r.device != self.device else r
        self.discount[k] = 0.0 if terminated else 1.0
        self._episode_pos = None if (terminated or truncated) else pos

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        """Number of sampleable transitions."""
        return self._num_valid

    def _stack(self, slots: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Stacked observations at ``slots`` (B,) with episode positions (B,): (B, S·C, H, W)."""
        s = self.frame_stack
        back = torch.arange(s - 1, -1, -1, device=self.device)  # S-1, ..., 0: oldest first
        offsets = torch.minimum(back[None, :], positions[:, None])  # (B, S)
        idx = (slots[:, None] - offsets) % self.num_slots
        frames = self.frames[idx]  # (B, S, C, H, W)
        return frames.reshape(slots.shape[0], s * self.frame_shape[0], *self.frame_shape[1:])

    def sample(self, batch_size: int, generator: torch.Generator) -> Transitions:
        """``batch_size`` transitions uniformly (with replacement) among the sampleable ones.

        ``generator`` must live on the buffer's device. Returns :class:`Transitions` on it.
        """
        if self._num_valid == 0:
            raise RuntimeError("the replay buffer holds no sampleable transition yet")
        u = torch.randint(self._num_valid, (batch_size,), generator=generator, device=self.device)
        # The u-th valid slot: first index whose running count of valid slots exceeds u.
        k = torch.searchsorted(self.valid.cumsum(0), u, right=True)
        pos = self.position[k]
        prev = (k - 1) % self.num_slots
        return Transitions(
            obs=self._stack(prev, pos - 1),
            action=self.action[k],
            reward=self.reward[k],
            next_obs=self._stack(k, pos),
            discount=self.discount[k],
        )

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: the ring tensors, the host counters and the geometry."""
        return {
            "geometry": {
                "capacity": self.capacity,
                "action_dim": self.action_dim,
                "frame_shape": self.frame_shape,
                "frame_stack": self.frame_stack,
            },
            "frames": self.frames,
            "action": self.action,
            "reward": self.reward,
            "discount": self.discount,
            "position": self.position,
            "valid": self.valid,
            "head": self._head,
            "written": self._written,
            "episode_pos": self._episode_pos,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (same geometry; raises ValueError otherwise)."""
        geometry = dict(state["geometry"])
        geometry["frame_shape"] = tuple(geometry["frame_shape"])
        mine = {
            "capacity": self.capacity,
            "action_dim": self.action_dim,
            "frame_shape": self.frame_shape,
            "frame_stack": self.frame_stack,
        }
        if geometry != mine:
            raise ValueError(f"replay geometry {geometry} does not match this buffer's {mine}")
        for name in ("frames", "action", "reward", "discount", "position", "valid"):
            getattr(self, name).copy_(state[name])
        self._valid_host = self.valid.cpu().numpy().copy()
        self._num_valid = int(self._valid_host.sum())
        self._head = int(state["head"])
        self._written = int(state["written"])
        pos = state["episode_pos"]
        self._episode_pos = None if pos is None else int(pos)
