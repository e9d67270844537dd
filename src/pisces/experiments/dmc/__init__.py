"""pisces.experiments.dmc: the Distracting DM Control benchmark (paper Section 6.2, Table 3).

* :mod:`~pisces.experiments.dmc.frames`: ``pisces dmc frames``, pictures of observations
  under the training and test backgrounds.
* :mod:`~pisces.experiments.dmc.teacher`: ``pisces dmc teacher``, the state SAC teacher (a
  documented stand-in for the paper's pixel DrQ teacher) and its state env.
* :mod:`~pisces.experiments.dmc.collect`: ``pisces dmc collect``, paired episodes (teacher in
  env A = ``bear``, its actions replayed in env B = ``bmx-bumps``, physics checked step by
  step) with their PSM, as ``pairs.npz`` + ``pairs.json``.
* :mod:`~pisces.experiments.dmc.config`: :class:`DMCConfig` and the presets ``drq``,
  ``drq-pse`` (paper) and ``drq-cpu``, ``drq-pse-cpu`` (this CPU, deviations measured).
* :mod:`~pisces.experiments.dmc.train`: the ``(config, seed) → record`` entry point ``run``
  (training loop, evaluation on the 30 test and 2 training videos, mid-run checkpoints).
* :mod:`~pisces.experiments.dmc.cli`: ``pisces dmc train`` (result store, resume, PNG,
  TensorBoard); :mod:`~pisces.experiments.dmc.report`: ``pisces dmc report`` (Table 3).
"""
