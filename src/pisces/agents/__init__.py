"""pisces.agents."""
