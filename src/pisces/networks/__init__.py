"""pisces.networks."""
