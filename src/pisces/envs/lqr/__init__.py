"""pisces.envs.lqr."""
