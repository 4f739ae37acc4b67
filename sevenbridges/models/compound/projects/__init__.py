"""Compound models nested in projects and their members."""
