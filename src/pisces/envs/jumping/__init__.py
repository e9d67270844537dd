"""pisces.envs.jumping: the jumping task from pixels (Tachet des Combes et al. 2018) as used
by the PSE paper (Agarwal et al., ICLR 2021, Section 5), pixel-exact and vectorized.

* :mod:`~pisces.envs.jumping.core`: ``make_params`` / ``reset`` / ``step`` / ``render`` as pure
  NumPy functions over a batch of tasks;
* :mod:`~pisces.envs.jumping.tasks`: the 286 tasks, the wide / narrow / random grids, splits;
* :mod:`~pisces.envs.jumping.data`: optimal trajectories, rollouts, network inputs, the
  evaluation rule and epsilon-suboptimal policies;
* :mod:`~pisces.envs.jumping.gym_env`: Gymnasium environments ``pisces/JumpingTask-v0`` and
  ``pisces/JumpingColorsTask-v0``, registered when this package is imported.
"""

from pisces.envs.jumping.core import (
    COLORS,
    GREEN,
    JUMP,
    RED,
    RIGHT,
    WHITE,
    JumpingParams,
    JumpingState,
    StepResult,
    make_params,
    render,
    reset,
    step,
)
from pisces.envs.jumping.data import (
    EPISODE_LENGTH,
    BatchRollout,
    Rollout,
    Trajectory,
    epsilon_suboptimal_actions,
    epsilon_suboptimal_probabilities,
    optimal_actions,
    optimal_inputs,
    optimal_trajectories,
    optimal_trajectory,
    render_frames,
    rollout,
    simulate,
    solved_from_actions,
    stack_frames,
)
from pisces.envs.jumping.gym_env import (
    ENV_IDS,
    JumpingColorsTaskEnv,
    JumpingTaskEnv,
    register_envs,
    to_rgb_image,
)
from pisces.envs.jumping.tasks import (
    ALL_TASKS,
    FLOOR_HEIGHTS,
    GRIDS,
    NUM_TASKS,
    OBSTACLE_POSITIONS,
    TEST,
    TRAIN,
    VALIDATION,
    task_index,
    task_split,
    training_tasks,
    validation_tasks,
)

__all__ = [
    "ALL_TASKS",
    "ENV_IDS",
    "JumpingColorsTaskEnv",
    "JumpingTaskEnv",
    "register_envs",
    "to_rgb_image",
    "BatchRollout",
    "COLORS",
    "EPISODE_LENGTH",
    "FLOOR_HEIGHTS",
    "GREEN",
    "GRIDS",
    "JUMP",
    "JumpingParams",
    "JumpingState",
    "NUM_TASKS",
    "OBSTACLE_POSITIONS",
    "RED",
    "RIGHT",
    "Rollout",
    "StepResult",
    "TEST",
    "TRAIN",
    "Trajectory",
    "VALIDATION",
    "WHITE",
    "epsilon_suboptimal_actions",
    "epsilon_suboptimal_probabilities",
    "make_params",
    "optimal_actions",
    "optimal_inputs",
    "optimal_trajectories",
    "optimal_trajectory",
    "render",
    "render_frames",
    "reset",
    "rollout",
    "simulate",
    "solved_from_actions",
    "stack_frames",
    "step",
    "task_index",
    "task_split",
    "training_tasks",
    "validation_tasks",
]

register_envs()
