"""pisces: Policy Similarity Embeddings for generalization in reinforcement learning.

A small core that knows nothing of benchmarks:

* :mod:`pisces.metrics` -- the policy similarity metric (PSM), bisimulation metrics, DIST;
* :mod:`pisces.losses` -- contrastive metric embedding (CME) losses, SimCLR, l2 embeddings;
* :mod:`pisces.networks` -- encoders, heads and RandConv (PyTorch modules);

and one package per benchmark under :mod:`pisces.envs` and :mod:`pisces.experiments`.
The command-line entry point is ``pisces`` (:mod:`pisces.cli`).
"""

__version__ = "0.1.0"
