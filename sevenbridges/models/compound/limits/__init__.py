"""Compound models describing API rate limits."""
