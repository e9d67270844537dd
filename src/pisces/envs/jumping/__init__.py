"""pisces.envs.jumping."""
