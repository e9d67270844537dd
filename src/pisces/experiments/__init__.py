"""pisces.experiments."""
