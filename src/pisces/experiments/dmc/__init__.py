"""pisces.experiments.dmc: the Distracting DM Control benchmark (paper Section 6.2).

* :mod:`~pisces.experiments.dmc.frames`: ``pisces dmc frames``, pictures of observations
  under the training and test backgrounds.
"""
