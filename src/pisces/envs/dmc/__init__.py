"""pisces.envs.dmc: the Distracting DM Control Suite with dynamic backgrounds (Stone et al.
2021) as the PSE paper ran it (Agarwal et al., ICLR 2021, Section 6.2, Appendix I).

* :mod:`~pisces.envs.dmc.tasks`: the six tasks, action repeats, floor alphas;
* :mod:`~pisces.envs.dmc.env`: :func:`make` and the Gymnasium ids
  ``pisces/DistractingControl-<domain>-<task>-v0`` (registered on import, without importing
  dm_control, which is needed only when an env is built: ``pip install 'pisces[dmc]'``);
* :mod:`~pisces.envs.dmc.background`: ping-pong playback and the MuJoCo 3 skybox writer;
* :mod:`~pisces.envs.dmc.videos`: the DAVIS 2017 name lists and the frame loader;
* :mod:`~pisces.envs.dmc.substitute`: offline stand-ins for the DAVIS videos;
* :mod:`~pisces.envs.dmc.render`: one-camera offscreen rendering with the fast settings;
* :mod:`~pisces.envs.dmc.upload`: the sky's re-upload with numpy mipmaps, the texture
  ``mjr_uploadTexture`` makes without its ``glGenerateMipmap``.
"""

from pisces.envs.dmc.background import Background, ping_pong, ping_pong_index
from pisces.envs.dmc.env import (
    ENV_IDS,
    FRAME_STACK,
    DistractingControlEnv,
    DMCOptions,
    make,
    register_envs,
)
from pisces.envs.dmc.tasks import (
    ACTION_REPEAT,
    EPISODE_ENV_STEPS,
    GROUND_ALPHA,
    SPLITS,
    TASKS,
    check_task,
    env_id,
)
from pisces.envs.dmc.videos import TEST_VIDEOS, TRAIN_VIDEOS, load_frames, split_videos

__all__ = [
    "ACTION_REPEAT",
    "Background",
    "DMCOptions",
    "DistractingControlEnv",
    "ENV_IDS",
    "EPISODE_ENV_STEPS",
    "FRAME_STACK",
    "GROUND_ALPHA",
    "SPLITS",
    "TASKS",
    "TEST_VIDEOS",
    "TRAIN_VIDEOS",
    "check_task",
    "env_id",
    "load_frames",
    "make",
    "ping_pong",
    "ping_pong_index",
    "register_envs",
    "split_videos",
]

register_envs()
