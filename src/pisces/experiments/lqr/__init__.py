"""pisces.experiments.lqr."""
