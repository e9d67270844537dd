"""pisces.analysis."""
