"""pisces.losses."""
