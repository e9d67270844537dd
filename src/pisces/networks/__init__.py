"""pisces.networks: torch modules (no environments, no agents).

* :mod:`~pisces.networks.jumping`: the jumping-task encoder, policy and projection heads (and
  the official network's reading of the colored task's 5-D input, :class:`Official5DEncoder`);
* :mod:`~pisces.networks.randconv`: RandConv, a random 2×2 convolution redrawn per call.
"""

from pisces.networks.jumping import (
    JumpingEncoder,
    JumpingNetwork,
    Official5DEncoder,
    PolicyHead,
    ProjectionHead,
    keras_init_,
)
from pisces.networks.randconv import RandConv, apply_random_conv, sample_kernels

__all__ = [
    "JumpingEncoder",
    "JumpingNetwork",
    "Official5DEncoder",
    "PolicyHead",
    "ProjectionHead",
    "RandConv",
    "apply_random_conv",
    "keras_init_",
    "sample_kernels",
]
