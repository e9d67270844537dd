"""pisces.envs."""
