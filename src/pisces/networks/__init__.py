"""pisces.networks: torch modules (no environments, no agents).

* :mod:`~pisces.networks.jumping`: the jumping-task encoder, policy and projection heads;
* :mod:`~pisces.networks.randconv`: RandConv, a random 2×2 convolution redrawn per call.
"""

from pisces.networks.jumping import (
    JumpingEncoder,
    JumpingNetwork,
    PolicyHead,
    ProjectionHead,
    keras_init_,
)
from pisces.networks.randconv import RandConv, apply_random_conv, sample_kernels

__all__ = [
    "JumpingEncoder",
    "JumpingNetwork",
    "PolicyHead",
    "ProjectionHead",
    "RandConv",
    "apply_random_conv",
    "keras_init_",
    "sample_kernels",
]
