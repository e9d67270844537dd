"""pisces.experiments.jumping."""
