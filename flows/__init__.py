"""Prefect flows: archive regeneration and one trial."""
