"""pisces.metrics."""
