"""Compound models nested in genome markers."""
