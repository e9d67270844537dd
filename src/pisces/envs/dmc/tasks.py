"""The six Distracting Control tasks of the paper (Table I.3) and their per-domain settings.

Pure Python: nothing here imports dm_control.
"""

from __future__ import annotations

__all__ = [
    "TASKS",
    "ACTION_REPEAT",
    "GROUND_ALPHA",
    "EPISODE_ENV_STEPS",
    "SPLITS",
    "check_task",
    "env_id",
    "task_name",
    "split_task_name",
]

#: "domain-task" -> action repeat (PlaNet's, the paper's Table I.3).
TASKS: dict[str, int] = {
    "cartpole-swingup": 8,
    "reacher-easy": 4,
    "cheetah-run": 4,
    "finger-spin": 2,
    "ball_in_cup-catch": 4,
    "walker-walk": 2,
}
#: alias of :data:`TASKS` under the name the issue uses.
ACTION_REPEAT = TASKS

#: alpha of the floor grid's material per domain under distraction (Stone et al. 2021, as the
#: paper ran it: 0.3 makes the background visible through the floor, 0.0 hides the floor).
GROUND_ALPHA: dict[str, float] = {
    "cartpole": 0.3,
    "ball_in_cup": 0.3,
    "finger": 0.3,
    "walker": 1.0,
    "cheetah": 1.0,
    "reacher": 0.0,
}

#: underlying (dm_control control) steps per episode; an episode has 1000 // repeat agent steps.
EPISODE_ENV_STEPS = 1000

#: the accepted values of ``split``: None means no distraction.
SPLITS = ("train", "test", None)


def task_name(domain: str, task: str) -> str:
    """``"cartpole", "swingup"`` -> ``"cartpole-swingup"``."""
    return f"{domain}-{task}"


def split_task_name(name: str) -> tuple[str, str]:
    """``"ball_in_cup-catch"`` -> ``("ball_in_cup", "catch")`` (domains contain no hyphen)."""
    domain, _, task = name.partition("-")
    check_task(domain, task)
    return domain, task


def check_task(domain: str, task: str) -> int:
    """The action repeat of a known task; a ValueError listing the valid tasks otherwise."""
    name = task_name(domain, task)
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]


def env_id(domain: str, task: str) -> str:
    """Gymnasium id of a task: ``pisces/DistractingControl-<domain>-<task>-v0``."""
    check_task(domain, task)
    return f"pisces/DistractingControl-{domain}-{task}-v0"
